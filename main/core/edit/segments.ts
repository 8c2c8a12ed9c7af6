/** Moved to main/common/edit/segments.ts (pure: the renderer edits with it too); re-exported here for core. */
export * from '../../common/edit/segments';
