/**
 * Segment-level edits on a label array: merge, delete, relabel, and moving a segment's voxels between layers.
 * (Renaming and recolouring change only the segment table, not voxels, and need no delta.)
 */
import { DelineateError } from '../errors';
import { type EditOptions, assertUnlocked } from './common';
import { DeltaBuilder, type EditDelta, type LabelArray } from './delta';

function checkValue(labels: LabelArray, v: number, what: string): void {
  const max = labels instanceof Uint8Array ? 255 : 65535;
  if (!Number.isInteger(v) || v < 1 || v > max) throw new DelineateError('INPUT', `${what} ${v} must be a segment value 1…${max}`);
}

/** Voxels of any of `from` become `to` (one pass). */
function recode(labels: LabelArray, from: ReadonlySet<number>, to: number): EditDelta {
  const b = new DeltaBuilder();
  const n = labels.length;
  let i = 0;
  while (i < n) {
    const v = labels[i]!;
    if (!from.has(v)) {
      i++;
      continue;
    }
    let e = i + 1;
    while (e < n && labels[e] === v) e++;
    b.pushRun(i, e - i, v, to);
    i = e;
  }
  return b.build();
}

/**
 * Merge segments `sources` into `target` (their voxels take the target's value). Refused (INPUT) when a source or
 * the target is locked.
 */
export function mergeSegments(labels: LabelArray, sources: readonly number[], target: number, options: EditOptions = {}): EditDelta {
  checkValue(labels, target, 'merge target');
  assertUnlocked(target, options, 'merge into it');
  for (const s of sources) {
    checkValue(labels, s, 'merge source');
    assertUnlocked(s, options, 'merge it');
  }
  return recode(labels, new Set(sources.filter((s) => s !== target)), target);
}

/** Delete segment `value`'s voxels (they become background). Refused (INPUT) when it is locked. */
export function deleteSegment(labels: LabelArray, value: number, options: EditOptions = {}): EditDelta {
  checkValue(labels, value, 'segment');
  assertUnlocked(value, options, 'delete it');
  return recode(labels, new Set([value]), 0);
}

/**
 * Give segment `from` the value `to`. Refused (INPUT) when either is locked, or when `to` already has voxels (that
 * would be a merge: use {@link mergeSegments}).
 */
export function relabelSegment(labels: LabelArray, from: number, to: number, options: EditOptions = {}): EditDelta {
  checkValue(labels, from, 'segment');
  checkValue(labels, to, 'new value');
  assertUnlocked(from, options, 'relabel it');
  assertUnlocked(to, options, 'relabel onto it');
  if (from !== to && labels.includes(to)) throw new DelineateError('INPUT', `value ${to} is already used by a segment; merge instead of relabelling`);
  return recode(labels, new Set([from]), to);
}

/**
 * Move segment `value`'s voxels from one layer to another (as `targetValue` there), e.g. to merge segments that
 * live in different layers. Returns one delta per layer. Voxels the target layer holds for a locked segment stay
 * in the source layer. Refused (INPUT) when either value is locked or the layers differ in size.
 */
export function moveSegmentVoxels(
  sourceLayer: LabelArray,
  value: number,
  targetLayer: LabelArray,
  targetValue: number,
  options: EditOptions = {},
): { source: EditDelta; target: EditDelta } {
  if (sourceLayer.length !== targetLayer.length) throw new DelineateError('INPUT', `layers differ in size (${sourceLayer.length} vs ${targetLayer.length})`);
  checkValue(sourceLayer, value, 'segment');
  checkValue(targetLayer, targetValue, 'target value');
  assertUnlocked(value, options, 'move it');
  assertUnlocked(targetValue, options, 'move voxels into it');
  const src = new DeltaBuilder();
  const dst = new DeltaBuilder();
  for (let i = 0; i < sourceLayer.length; i++) {
    if (sourceLayer[i] !== value) continue;
    const old = targetLayer[i]!;
    if (old !== 0 && old !== targetValue && (options.locked?.has(old) || options.overwrite === 'background')) continue;
    dst.push(i, old, targetValue);
    src.push(i, value, 0);
  }
  return { source: src.build(), target: dst.build() };
}
