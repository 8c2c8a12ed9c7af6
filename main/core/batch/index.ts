/** Batch segmentation of cohorts: discovery, sharding, run records, the runner (`delineate batch`). */
export { type BatchCase, type CaseInput, type Cohort, compareIds, discoverCases, safeCaseId } from './cases';
export { type CaseRecord, type CaseStatus, finishedCases, readRecords, recordFileName, type RunRecord, writeRecord } from './record';
export { type BatchEvent, type BatchOptions, type BatchResult, runBatch, TOOL_VERSION } from './run';
export { parseShard, selectShard, type Shard } from './shard';
