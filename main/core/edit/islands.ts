/** Moved to main/common/edit/islands.ts (pure: the renderer edits with it too); re-exported here for core. */
export * from '../../common/edit/islands';
