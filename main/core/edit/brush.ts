/** Moved to main/common/edit/brush.ts (pure: the renderer edits with it too); re-exported here for core. */
export * from '../../common/edit/brush';
