/**
 * Undo deltas for labelmap edits: the voxels an edit changed, with their old and new values, stored as runs —
 * never a copy of the volume. A run is a stretch of consecutive voxel indices (i fastest) whose old value is the
 * same and whose new value is the same, so a brush stroke over background costs one run per image row it touches.
 *
 * Every edit function in main/core/edit (and here) is pure: it reads the labels and returns a delta; {@link applyDelta}
 * writes it and {@link revertDelta} undoes it exactly (bit for bit).
 */
import { DelineateError } from '../errors';

/** Labels an edit works on: one layer of a segmentation (uint8 or uint16, i fastest). */
export type LabelArray = Uint8Array | Uint16Array;

/** The change an edit makes to one label array, as runs in ascending voxel order (see the module comment). */
export interface EditDelta {
  /** First voxel index of each run. */
  starts: Uint32Array;
  /** Number of voxels of each run (≥ 1). */
  lengths: Uint32Array;
  /** Value of the run's voxels before the edit. */
  oldValues: Uint16Array;
  /** Value of the run's voxels after the edit. */
  newValues: Uint16Array;
  /** Total voxels changed (sum of lengths). */
  voxelCount: number;
}

/** Bytes a delta occupies (for undo-memory budgets). */
export function deltaBytes(d: EditDelta): number {
  return d.starts.byteLength + d.lengths.byteLength + d.oldValues.byteLength + d.newValues.byteLength;
}

/** An empty delta (an edit that changed nothing). */
export function emptyDelta(): EditDelta {
  return { starts: new Uint32Array(0), lengths: new Uint32Array(0), oldValues: new Uint16Array(0), newValues: new Uint16Array(0), voxelCount: 0 };
}

/**
 * Builds a delta from changes pushed in strictly ascending voxel order. Pushing an unchanged voxel (old === new)
 * is ignored.
 */
export class DeltaBuilder {
  private starts: number[] = [];
  private lengths: number[] = [];
  private olds: number[] = [];
  private news: number[] = [];
  private last = -1;
  private count = 0;

  /** Record that voxel `index` goes from `oldValue` to `newValue`. Indices must increase. */
  push(index: number, oldValue: number, newValue: number): void {
    if (oldValue === newValue) return;
    if (index <= this.last) throw new DelineateError('INTERNAL', `DeltaBuilder: index ${index} after ${this.last} (must ascend)`);
    const n = this.starts.length - 1;
    if (n >= 0 && this.last === index - 1 && this.olds[n] === oldValue && this.news[n] === newValue) this.lengths[n]!++;
    else {
      this.starts.push(index);
      this.lengths.push(1);
      this.olds.push(oldValue);
      this.news.push(newValue);
    }
    this.last = index;
    this.count++;
  }

  /** Record a whole run of voxels `[start, start+length)` that all go from `oldValue` to `newValue`. */
  pushRun(start: number, length: number, oldValue: number, newValue: number): void {
    if (length <= 0 || oldValue === newValue) return;
    if (start <= this.last) throw new DelineateError('INTERNAL', `DeltaBuilder: run at ${start} after ${this.last} (must ascend)`);
    const n = this.starts.length - 1;
    if (n >= 0 && this.last === start - 1 && this.olds[n] === oldValue && this.news[n] === newValue) this.lengths[n]! += length;
    else {
      this.starts.push(start);
      this.lengths.push(length);
      this.olds.push(oldValue);
      this.news.push(newValue);
    }
    this.last = start + length - 1;
    this.count += length;
  }

  build(): EditDelta {
    return {
      starts: Uint32Array.from(this.starts),
      lengths: Uint32Array.from(this.lengths),
      oldValues: Uint16Array.from(this.olds),
      newValues: Uint16Array.from(this.news),
      voxelCount: this.count,
    };
  }
}

function write(labels: LabelArray, d: EditDelta, forward: boolean): void {
  const to = forward ? d.newValues : d.oldValues;
  for (let r = 0; r < d.starts.length; r++) {
    const s = d.starts[r]!;
    const e = s + d.lengths[r]!;
    if (e > labels.length) throw new DelineateError('INPUT', `delta run ${s}…${e - 1} is outside the ${labels.length}-voxel labels`);
    labels.fill(to[r]!, s, e);
  }
}

/**
 * Apply an edit: write each run's new value. With `check` (default true) every voxel must hold the run's old
 * value first — the check runs over all runs before the first write, so a delta applied out of order fails (INPUT
 * error) without changing anything.
 */
export function applyDelta(labels: LabelArray, delta: EditDelta, check = true): void {
  if (check) verify(labels, delta, true);
  write(labels, delta, true);
}

/** Undo an edit: write each run's old value (the exact inverse of {@link applyDelta}); same `check` as there. */
export function revertDelta(labels: LabelArray, delta: EditDelta, check = true): void {
  if (check) verify(labels, delta, false);
  write(labels, delta, false);
}

function verify(labels: LabelArray, d: EditDelta, forward: boolean): void {
  const from = forward ? d.oldValues : d.newValues;
  for (let r = 0; r < d.starts.length; r++) {
    const s = d.starts[r]!;
    const e = s + d.lengths[r]!;
    if (e > labels.length) throw new DelineateError('INPUT', `delta run ${s}…${e - 1} is outside the ${labels.length}-voxel labels`);
    const want = from[r]!;
    for (let i = s; i < e; i++)
      if (labels[i] !== want)
        throw new DelineateError('INPUT', `delta does not fit these labels: voxel ${i} is ${labels[i]}, expected ${want} (${forward ? 'apply' : 'revert'} out of order?)`);
  }
}

/**
 * One delta equal to applying `first` then `second` (e.g. the dabs of one brush stroke as one undo step). Voxels
 * that `second` returns to their value before `first` drop out.
 */
export function composeDeltas(first: EditDelta, second: EditDelta): EditDelta {
  const b = new DeltaBuilder();
  // Walk both run lists in index order, voxel-segment by voxel-segment.
  let ra = 0;
  let rb = 0;
  let pa = first.starts.length ? first.starts[0]! : Infinity;
  let pb = second.starts.length ? second.starts[0]! : Infinity;
  const endA = (r: number) => first.starts[r]! + first.lengths[r]!;
  const endB = (r: number) => second.starts[r]! + second.lengths[r]!;
  while (ra < first.starts.length || rb < second.starts.length) {
    const ea = ra < first.starts.length ? endA(ra) : Infinity;
    const eb = rb < second.starts.length ? endB(rb) : Infinity;
    const pos = Math.min(pa, pb);
    const inA = ra < first.starts.length && pa === pos;
    const inB = rb < second.starts.length && pb === pos;
    // Segment end: the nearest boundary after pos.
    let end = Math.min(inA ? ea : pa, inB ? eb : pb);
    if (!inA && inB) end = Math.min(eb, pa);
    if (inA && !inB) end = Math.min(ea, pb);
    const len = end - pos;
    if (inA && inB) {
      if (first.newValues[ra] !== second.oldValues[rb])
        throw new DelineateError('INPUT', `composeDeltas: voxel ${pos} is ${first.newValues[ra]} after the first edit but the second expects ${second.oldValues[rb]}`);
      b.pushRun(pos, len, first.oldValues[ra]!, second.newValues[rb]!);
    } else if (inA) b.pushRun(pos, len, first.oldValues[ra]!, first.newValues[ra]!);
    else b.pushRun(pos, len, second.oldValues[rb]!, second.newValues[rb]!);
    if (inA) {
      pa = end;
      if (pa >= ea) {
        ra++;
        pa = ra < first.starts.length ? first.starts[ra]! : Infinity;
      }
    }
    if (inB) {
      pb = end;
      if (pb >= eb) {
        rb++;
        pb = rb < second.starts.length ? second.starts[rb]! : Infinity;
      }
    }
  }
  return b.build();
}
