/**
 * From network-grid logits rows to the label map, slab by slab (the export half of nnU-Net's
 * `convert_predicted_logits_to_segmentation_with_correct_shape`): resample back to the cropped image grid
 * (probabilities order, separate-z rule), softmax-argmax or sigmoid regions, un-crop, un-transpose.
 *
 * Rows are planes along tensor axis 0. {@link RowExporter.push} takes network rows in order; output rows are
 * produced as soon as the rows they interpolate from have arrived (order ≤ 1 along axis 0 needs at most two
 * input rows: a halo of one row). An order-3 spline along axis 0 needs whole columns (its prefilter is
 * recursive), so that case buffers all rows and resamples at the end (documented memory exception).
 */
import type { OutputSpec } from '../../common/manifest';
import { halfBitsFromFloat64, HALF_TO_FLOAT } from './half';
import { type AxisPlan, planAxis, resizeAxis, resizeChannel } from './resample';

export type RowSink = (row: number, values: Float32Array) => void;

/** Resamples network rows [A, N1, N2] to output rows [A, M1, M2] of the cropped grid. */
export class RowExporter {
  private readonly identity: boolean;
  private readonly full: Float32Array | undefined;
  private readonly plan0: AxisPlan | undefined;
  private readonly plan1: AxisPlan | undefined;
  private readonly plan2: AxisPlan | undefined;
  private readonly rows = new Map<number, Float64Array>();
  private nextOut = 0;
  private received = 0;

  constructor(
    private readonly classes: number,
    private readonly netShape: readonly [number, number, number],
    private readonly outShape: readonly [number, number, number],
    /** Spline order per tensor axis (the separate-z axis already given its z order). */
    private readonly orders: readonly (0 | 1 | 3)[],
    /** Separate-z axis (only used for per-slice clipping of order-3 in-plane resizes). */
    private readonly sepAxis: number | null,
    /** 'float16': values are cast to half after resampling (nnU-Net keeps logits in float16). */
    private readonly dtype: 'float16' | 'float32',
    private readonly sink: RowSink,
  ) {
    this.identity = netShape.every((s, d) => s === outShape[d]);
    if (!this.identity && orders[0]! > 1) {
      this.full = new Float32Array(classes * netShape[0] * netShape[1] * netShape[2]);
    } else if (!this.identity) {
      this.plan0 = planAxis(netShape[0], outShape[0], orders[0] as 0 | 1);
      this.plan1 = planAxis(netShape[1], outShape[1], orders[1]!);
      this.plan2 = planAxis(netShape[2], outShape[2], orders[2]!);
    }
  }

  /** Whether this exporter has to hold every row (order-3 resampling along axis 0). */
  get buffersWholeVolume(): boolean {
    return this.full !== undefined;
  }

  private cast(v: number): number {
    return this.dtype === 'float16' ? HALF_TO_FLOAT[halfBitsFromFloat64(v)]! : v;
  }

  /** Take network row `u` (values [A, N1, N2]); rows must come in order 0, 1, 2 … */
  push(u: number, values: Float32Array): void {
    if (u !== this.received) throw new Error(`RowExporter: expected row ${this.received}, got ${u}`);
    this.received++;
    const [N0, N1, N2] = this.netShape;
    const [M0, M1, M2] = this.outShape;
    const A = this.classes;
    if (this.identity) return this.sink(u, values);
    if (this.full) {
      for (let c = 0; c < A; c++) this.full.set(values.subarray(c * N1 * N2, (c + 1) * N1 * N2), (c * N0 + u) * N1 * N2);
      if (this.received === N0) this.finishFull();
      return;
    }
    // In-plane: axis 2 then axis 1 of the [A, N1, N2] row, in float64.
    let cur: Float32Array | Float64Array = values;
    if (N2 !== M2 || this.orders[2] === 3) {
      const t = new Float64Array(A * N1 * M2);
      resizeAxis(cur, A * N1, 1, this.plan2!, t);
      cur = t;
    }
    if (N1 !== M1 || this.orders[1] === 3) {
      const t = new Float64Array(A * M1 * M2);
      resizeAxis(cur, A, M2, this.plan1!, t);
      cur = t;
    }
    const row = cur instanceof Float64Array ? cur : Float64Array.from(cur);
    if (this.sepAxis === 0 && (this.orders[1] === 3 || this.orders[2] === 3)) clipRows(values, row, A, N1 * N2, M1 * M2);
    this.rows.set(u, row);
    const p = this.plan0!;
    const taps = p.order === 0 ? 1 : 2;
    while (this.nextOut < M0) {
      const o = this.nextOut;
      const s = p.start[o]!;
      const need = Math.min(Math.max(s + taps - 1, 0), N0 - 1);
      if (need > u) break;
      const out = new Float32Array(A * M1 * M2);
      if (p.order === 0) {
        const r = this.rows.get(s)!;
        for (let i = 0; i < out.length; i++) out[i] = this.cast(r[i]!);
      } else {
        const ra = this.rows.get(Math.min(Math.max(s, 0), N0 - 1))!;
        const rb = this.rows.get(Math.min(Math.max(s + 1, 0), N0 - 1))!;
        const w0 = p.weights[o * 2]!;
        const w1 = p.weights[o * 2 + 1]!;
        for (let i = 0; i < out.length; i++) out[i] = this.cast(ra[i]! * w0 + rb[i]! * w1);
      }
      this.sink(o, out);
      this.nextOut++;
      // Drop rows no later output needs.
      const keepFrom = this.nextOut < M0 ? Math.min(Math.max(p.start[this.nextOut]!, 0), N0 - 1) : N0;
      for (const k of this.rows.keys()) if (k < keepFrom) this.rows.delete(k);
    }
  }

  private finishFull(): void {
    const [N0, N1, N2] = this.netShape;
    const [M0, M1, M2] = this.outShape;
    const A = this.classes;
    const nNet = N0 * N1 * N2;
    const perClass: Float64Array[] = [];
    for (let c = 0; c < A; c++)
      perClass.push(resizeChannel(this.full!.subarray(c * nNet, (c + 1) * nNet), this.netShape, this.outShape, this.orders[this.sepAxis === 0 ? 1 : 0] as 0 | 1 | 3, (this.sepAxis !== null ? this.orders[this.sepAxis] : 0) as 0 | 1, this.sepAxis));
    const plane = M1 * M2;
    for (let o = 0; o < M0; o++) {
      const out = new Float32Array(A * plane);
      for (let c = 0; c < A; c++) {
        const src = perClass[c]!;
        for (let i = 0; i < plane; i++) out[c * plane + i] = this.cast(src[o * plane + i]!);
      }
      this.sink(o, out);
    }
  }
}

/** Per-class, per-row clipping to the input row's range (skimage clip on nnU-Net's per-slice separate-z resize). */
function clipRows(src: Float32Array, dst: Float64Array, classes: number, nIn: number, nOut: number): void {
  for (let c = 0; c < classes; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = c * nIn; i < (c + 1) * nIn; i++) {
      const v = src[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    for (let i = c * nOut; i < (c + 1) * nOut; i++) {
      const v = dst[i]!;
      dst[i] = v < lo ? lo : v > hi ? hi : v;
    }
  }
}

/**
 * Label of each voxel of an output row [A, plane]: softmax → first maximal channel (NumPy argmax); sigmoid →
 * `regionClassOrder[r]` where float32 sigmoid(channel r) > 0.5, later regions overwriting earlier ones.
 */
export function labelRow(values: Float32Array, classes: number, plane: number, output: OutputSpec, out: Uint16Array): void {
  if (output.kind === 'softmax') {
    for (let i = 0; i < plane; i++) {
      let best = 0;
      let bv = values[i]!;
      for (let c = 1; c < classes; c++) {
        const v = values[c * plane + i]!;
        if (v > bv) {
          bv = v;
          best = c;
        }
      }
      out[i] = best;
    }
    return;
  }
  out.fill(0, 0, plane);
  const order = output.regionClassOrder;
  for (let r = 0; r < classes; r++) {
    const label = order[r]!;
    for (let i = 0; i < plane; i++) {
      const p = Math.fround(1 / (1 + Math.exp(-values[r * plane + i]!)));
      if (p > 0.5) out[i] = label;
    }
  }
}

/** Softmax (float32) of an output row [A, plane] in place. */
export function softmaxRow(values: Float32Array, classes: number, plane: number): void {
  for (let i = 0; i < plane; i++) {
    let mx = -Infinity;
    for (let c = 0; c < classes; c++) mx = Math.max(mx, values[c * plane + i]!);
    let s = 0;
    for (let c = 0; c < classes; c++) {
      const e = Math.exp(values[c * plane + i]! - mx);
      values[c * plane + i] = e;
      s += e;
    }
    for (let c = 0; c < classes; c++) values[c * plane + i] = values[c * plane + i]! / s;
  }
}
