/** Moved to main/common/edit/common.ts (pure: the renderer edits with it too); re-exported here for core. */
export * from '../../common/edit/common';
