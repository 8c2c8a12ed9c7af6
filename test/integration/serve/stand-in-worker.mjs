// A stand-in job worker for the job manager's own logic (pool reuse, hard kill after the grace period): it
// speaks the real protocol (main/core/api-server/protocol.ts) but runs no engine. job.modelDir says what to do:
// 'done' answers at once (device = this thread's id, to see reuse), 'hang' never answers and ignores cancel,
// 'crash' exits the thread.
import { parentPort, threadId } from 'node:worker_threads';

parentPort.on('message', (m) => {
  if (m.type !== 'run') return;
  const { jobId, modelDir } = m.job;
  if (modelDir === 'done')
    parentPort.postMessage({
      jobId,
      type: 'done',
      summary: { device: `thread ${threadId}`, tiles: 0, networkRuns: 0, seconds: { preprocess: 0, inference: 0, total: 0 }, dicomSeg: { written: false, reason: 'stand-in' } },
    });
  else if (modelDir === 'crash') process.exit(3);
  // 'hang': nothing, ever.
});
parentPort.postMessage({ type: 'ready' });
