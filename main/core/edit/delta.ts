/** Moved to main/common/edit/delta.ts (pure: the renderer edits with it too); re-exported here for core. */
export * from '../../common/edit/delta';
