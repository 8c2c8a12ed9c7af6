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

/**
 * Receives output rows class by class (so a whole `classes × row` block never has to exist): `plane(o, c, v)` for
 * c = 0, 1, … then `end(o)`. `v` is only valid during the call.
 */
export interface RowSink {
  plane(row: number, cls: number, values: Float32Array): void;
  /**
   * Optional: the class plane before the float16 cast (float64 values as resampled), when the sink can use them
   * instead of the cast ones — it must then give the result it would give on their float16 casts.
   */
  planeBeforeHalfCast?(row: number, cls: number, values: Float64Array): void;
  end(row: number): void;
}

/** Memory the exporter may use to keep the in-plane resizes of two network rows (see RowExporter.planes). */
const IN_PLANE_CACHE_BYTES = 256 * 2 ** 20;

/** Resamples network rows [A, N1, N2] to output rows [A, M1, M2] of the cropped grid, one class at a time. */
export class RowExporter {
  private readonly identity: boolean;
  private readonly full: Float32Array | undefined;
  private readonly plan0: AxisPlan | undefined;
  private readonly plan1: AxisPlan | undefined;
  private readonly plan2: AxisPlan | undefined;
  /** Network rows still needed by later output rows (float32, [A, N1, N2]). */
  private readonly rows = new Map<number, Float32Array>();
  private nextOut = 0;
  private received = 0;
  private readonly tA: Float64Array;
  private readonly tB: Float64Array;
  private readonly tmp2: Float64Array;
  private readonly outPlane: Float32Array;
  /**
   * In-plane resizes of network rows, all classes ([A, M1, M2] float64), while later output rows still need them:
   * when axis 0 is resampled a network row feeds two output rows or, upsampled, several (the bench's head CT: 25
   * network rows → 108 slices, each in-plane resize was done ≈ 8× over). Only when two rows fit in
   * IN_PLANE_CACHE_BYTES.
   */
  private readonly planes: Map<number, Float64Array> | undefined;
  /** With order 0 along axis 0: the cast output planes ([A, M1, M2]) of a network row, shared by its output rows. */
  private readonly castRows = new Map<number, Float32Array>();

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
    const [, N1, N2] = netShape;
    const [, M1, M2] = outShape;
    this.tA = new Float64Array(M1 * M2);
    this.tB = new Float64Array(M1 * M2);
    this.tmp2 = new Float64Array(N1 * M2);
    this.outPlane = new Float32Array(M1 * M2);
    if (!this.identity && orders[0]! > 1) {
      this.full = new Float32Array(classes * netShape[0] * N1 * N2);
    } else if (!this.identity) {
      this.plan0 = planAxis(netShape[0], outShape[0], orders[0] as 0 | 1);
      this.plan1 = planAxis(N1, M1, orders[1]!);
      this.plan2 = planAxis(N2, M2, orders[2]!);
      if (2 * classes * M1 * M2 * 8 <= IN_PLANE_CACHE_BYTES && outShape[0] !== netShape[0]) this.planes = new Map();
    }
  }

  /** In-plane resize of all classes of network row `k` (from the cache, or computed and cached). */
  private planesOf(k: number): Float64Array {
    let p = this.planes!.get(k);
    if (!p) {
      const plane = this.outShape[1] * this.outShape[2];
      p = new Float64Array(this.classes * plane);
      for (let c = 0; c < this.classes; c++) this.inPlane(this.rows.get(k)!, c, p.subarray(c * plane, (c + 1) * plane));
      this.planes!.set(k, p);
    }
    return p;
  }

  /** Whether this exporter has to hold every row (order-3 resampling along axis 0). */
  get buffersWholeVolume(): boolean {
    return this.full !== undefined;
  }

  private cast(v: number): number {
    return this.dtype === 'float16' ? HALF_TO_FLOAT[halfBitsFromFloat64(v)]! : v;
  }

  /** Hand class plane `c` of output row `o` (float64 values before the cast, `plane` long) to the sink. */
  private emit(o: number, c: number, raw: Float64Array, plane: number): void {
    if (this.dtype === 'float16' && this.sink.planeBeforeHalfCast) {
      this.sink.planeBeforeHalfCast(o, c, raw);
      return;
    }
    const out = this.outPlane;
    for (let i = 0; i < plane; i++) out[i] = this.cast(raw[i]!);
    this.sink.plane(o, c, out);
  }

  /** In-plane resize of class c of a network row into `dst` (float64, M1 × M2), clipped as skimage does. */
  private inPlane(row: Float32Array, c: number, dst: Float64Array): void {
    const [, N1, N2] = this.netShape;
    const [, M1, M2] = this.outShape;
    const src = row.subarray(c * N1 * N2, (c + 1) * N1 * N2);
    let cur: Float32Array | Float64Array = src;
    if (N2 !== M2 || this.orders[2] === 3) {
      resizeAxis(cur, N1, 1, this.plan2!, this.tmp2);
      cur = this.tmp2;
    }
    if (N1 !== M1 || this.orders[1] === 3) resizeAxis(cur, 1, M2, this.plan1!, dst);
    else dst.set(cur.subarray(0, M1 * M2));
    if (this.sepAxis === 0 && (this.orders[1] === 3 || this.orders[2] === 3)) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < src.length; i++) {
        const v = src[i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      for (let i = 0; i < dst.length; i++) {
        const v = dst[i]!;
        dst[i] = v < lo ? lo : v > hi ? hi : v;
      }
    }
  }

  /** Take network row `u` (values [A, N1, N2]); rows must come in order 0, 1, 2 … */
  push(u: number, values: Float32Array): void {
    if (u !== this.received) throw new Error(`RowExporter: expected row ${this.received}, got ${u}`);
    this.received++;
    const [N0, N1, N2] = this.netShape;
    const [M0, M1, M2] = this.outShape;
    const A = this.classes;
    if (this.identity) {
      const pl = N1 * N2;
      for (let c = 0; c < A; c++) this.sink.plane(u, c, values.subarray(c * pl, (c + 1) * pl));
      this.sink.end(u);
      return;
    }
    if (this.full) {
      for (let c = 0; c < A; c++) this.full.set(values.subarray(c * N1 * N2, (c + 1) * N1 * N2), (c * N0 + u) * N1 * N2);
      if (this.received === N0) this.finishFull();
      return;
    }
    this.rows.set(u, values);
    const p = this.plan0!;
    const plane = M1 * M2;
    while (this.nextOut < M0) {
      const o = this.nextOut;
      const s = p.start[o]!;
      const taps = p.order === 0 ? 1 : 2;
      const need = Math.min(Math.max(s + taps - 1, 0), N0 - 1);
      if (need > u) break;
      if (this.planes && p.order === 0 && this.dtype === 'float16' && this.sink.planeBeforeHalfCast) {
        // Nearest row along axis 0: every output row from network row s is the same in-plane resize.
        const pa = this.planesOf(s);
        for (let c = 0; c < A; c++) this.sink.planeBeforeHalfCast(o, c, pa.subarray(c * plane, (c + 1) * plane));
      } else if (this.planes && p.order === 0) {
        // Nearest row along axis 0: every output row from network row s is the same, so it is cast once.
        let cast = this.castRows.get(s);
        if (!cast) {
          const pa = this.planesOf(s);
          cast = new Float32Array(A * plane);
          for (let i = 0; i < cast.length; i++) cast[i] = this.cast(pa[i]!);
          this.castRows.set(s, cast);
          this.planes.delete(s);
        }
        for (let c = 0; c < A; c++) this.sink.plane(o, c, cast.subarray(c * plane, (c + 1) * plane));
      } else if (this.planes) {
        // Same arithmetic as below, on cached in-plane resizes.
        const ia = p.order === 0 ? s : Math.min(Math.max(s, 0), N0 - 1);
        const ib = p.order === 0 ? s : Math.min(Math.max(s + 1, 0), N0 - 1);
        const w0 = p.order === 0 ? 1 : p.weights[o * 2]!;
        const w1 = p.order === 0 ? 0 : p.weights[o * 2 + 1]!;
        const pa = this.planesOf(ia);
        const pb = w1 === 0 ? pa : this.planesOf(ib);
        const t = this.tA;
        for (let c = 0; c < A; c++) {
          const base = c * plane;
          if (p.order === 0) for (let i = 0; i < plane; i++) t[i] = pa[base + i]!;
          else if (w1 === 0) for (let i = 0; i < plane; i++) t[i] = pa[base + i]! * w0 + 0;
          else for (let i = 0; i < plane; i++) t[i] = pa[base + i]! * w0 + pb[base + i]! * w1;
          this.emit(o, c, t, plane);
        }
      } else if (p.order === 0) {
        const r = this.rows.get(s)!;
        for (let c = 0; c < A; c++) {
          this.inPlane(r, c, this.tA);
          this.emit(o, c, this.tA, plane);
        }
      } else {
        const ia = Math.min(Math.max(s, 0), N0 - 1);
        const ib = Math.min(Math.max(s + 1, 0), N0 - 1);
        const w0 = p.weights[o * 2]!;
        const w1 = p.weights[o * 2 + 1]!;
        const ra = this.rows.get(ia)!;
        const rb = this.rows.get(ib)!;
        const t = this.tA;
        for (let c = 0; c < A; c++) {
          this.inPlane(ra, c, t);
          if (w1 === 0) {
            for (let i = 0; i < plane; i++) t[i] = t[i]! * w0 + 0;
          } else {
            this.inPlane(rb, c, this.tB);
            for (let i = 0; i < plane; i++) t[i] = t[i]! * w0 + this.tB[i]! * w1;
          }
          this.emit(o, c, t, plane);
        }
      }
      this.sink.end(o);
      this.nextOut++;
      // Drop rows no later output needs.
      const keepFrom = this.nextOut < M0 ? Math.min(Math.max(p.start[this.nextOut]!, 0), N0 - 1) : N0;
      for (const k of this.rows.keys()) if (k < keepFrom) this.rows.delete(k);
      if (this.planes) for (const k of this.planes.keys()) if (k < keepFrom) this.planes.delete(k);
      for (const k of this.castRows.keys()) if (k < keepFrom) this.castRows.delete(k);
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
    const out = this.outPlane;
    for (let o = 0; o < M0; o++) {
      for (let c = 0; c < A; c++) {
        const src = perClass[c]!;
        for (let i = 0; i < plane; i++) out[i] = this.cast(src[o * plane + i]!);
        this.sink.plane(o, c, out);
      }
      this.sink.end(o);
    }
  }
}

/**
 * A {@link RowSink} that turns class planes into labels without holding all classes: softmax → running argmax
 * (first maximal channel wins, as NumPy); sigmoid → `regionClassOrder[r]` where float32 sigmoid > 0.5, later
 * regions overwriting. With `keepValues`, the row's class values are also kept (for probabilities).
 */
export class RowLabeller implements RowSink {
  readonly labels: Uint16Array;
  readonly values: Float32Array | undefined;
  private readonly best: Float32Array;
  /** Softmax labels without kept values: the running maximum before the float16 cast (see planeBeforeHalfCast). */
  private readonly bestBeforeCast: Float64Array | undefined;
  readonly planeBeforeHalfCast: RowSink['planeBeforeHalfCast'];
  constructor(
    private readonly output: OutputSpec,
    private readonly planeSize: number,
    classes: number,
    keepValues: boolean,
    private readonly onRow: (row: number, labels: Uint16Array, values: Float32Array | undefined) => void,
  ) {
    this.labels = new Uint16Array(planeSize);
    this.best = new Float32Array(planeSize);
    this.values = keepValues ? new Float32Array(classes * planeSize) : undefined;
    if (output.kind === 'softmax' && !keepValues) {
      this.bestBeforeCast = new Float64Array(planeSize);
      this.planeBeforeHalfCast = (_row, c, v) => this.argmaxBeforeCast(c, v);
    }
  }

  /**
   * The softmax running argmax on float16-cast values, without casting every value: the cast is monotonic, so
   * a value not above the best stays not above it, and one above it by more than both values' rounding errors
   * (2^-11 of each magnitude + 2^-25 each) stays above; only the near-ties in between are cast and compared
   * exactly (first maximal channel wins, as NumPy). The export's cast of every resampled logit was ≈ 40 % of its
   * time (PGBM-001 MR: 24 rows × 2 classes × 82,621 voxels).
   */
  private argmaxBeforeCast(c: number, v: Float64Array): void {
    const n = this.planeSize;
    const lab = this.labels;
    const best = this.bestBeforeCast!;
    if (c === 0) {
      best.set(v.subarray(0, n));
      lab.fill(0);
      return;
    }
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
      const b = best[i]!;
      // Not above (or NaN on either side): the cast compare is false too.
      if (!(x > b)) continue;
      const clear = x - b > 4.8828125e-4 * (Math.abs(x) + Math.abs(b)) + 5.9604644775390625e-8 && x < 65504 && b > -65504;
      if (clear || HALF_TO_FLOAT[halfBitsFromFloat64(x)]! > HALF_TO_FLOAT[halfBitsFromFloat64(b)]!) {
        best[i] = x;
        lab[i] = c;
      }
    }
  }
  plane(_row: number, c: number, v: Float32Array): void {
    const n = this.planeSize;
    if (this.values) this.values.set(v.subarray(0, n), c * n);
    const lab = this.labels;
    if (this.output.kind === 'softmax') {
      const best = this.best;
      if (c === 0) {
        best.set(v.subarray(0, n));
        lab.fill(0);
      } else
        for (let i = 0; i < n; i++)
          if (v[i]! > best[i]!) {
            best[i] = v[i]!;
            lab[i] = c;
          }
      return;
    }
    if (c === 0) lab.fill(0);
    const label = this.output.regionClassOrder[c]!;
    for (let i = 0; i < n; i++) if (Math.fround(1 / (1 + Math.exp(-v[i]!))) > 0.5) lab[i] = label;
  }
  end(row: number): void {
    this.onRow(row, this.labels, this.values);
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
