/**
 * The ONNX protobuf reader/writer and the body + pointwise-heads split (main/core/inference/onnx-graph.ts) on real
 * network exports (test/fixtures/engine, written by test/reference/make_multiclass_fixtures.py and
 * make_nnunet_golden.py): decoding and re-encoding gives the same bytes; the body's features through every head
 * equal the whole network's output bit for bit (ONNX Runtime, CPU); models that do not end in a pointwise Conv
 * are left alone; kernel = stride ConvTransposes rewritten as pointwise Conv + DepthToSpace give the same outputs
 * bit for bit on every 3-D fixture network ((1,2,2) and (2,2,2) kernels); 2-D networks are left alone; the
 * depth-as-batch rewrite (3-D network as 2-D convolutions over depth slices) gives the same outputs up to float32
 * summation order on the real fixture networks and on a zoo of the cases they lack
 * (test/reference/make_depth_batch_fixture.py), keeps the segmentation head splittable, and says why it leaves a
 * model alone.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pbDecode, pbEncode, rewriteDepthAsBatch, rewriteStridedConvTranspose, splitPointwiseHead } from '../../../main/core/inference/onnx-graph';
import { ort } from '../../../main/core/inference/session';
import { PROJECT_ROOT } from '../../helpers/data';

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(`${PROJECT_ROOT}/test/fixtures/engine/${name}/fold_0.onnx`));
const OPTS: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', executionMode: 'sequential', intraOpNumThreads: 2 };

function noise(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 16807) % 2147483647;
    x[i] = (s / 2147483647 - 0.5) * 6;
  }
  return x;
}

describe('ONNX protobuf codec', () => {
  it.each(['multiclass-unet', 'tcia-mr-2ch', 'multiclass-pointwise'])('re-encodes %s byte for byte', (name) => {
    const bytes = fixture(name);
    expect(Buffer.compare(Buffer.from(pbEncode(pbDecode(bytes))), Buffer.from(bytes))).toBe(0);
  });
  it('rejects truncated input', () => {
    expect(() => pbDecode(fixture('multiclass-unet').subarray(0, 1000))).toThrow(/truncated/);
  });
});

describe('splitPointwiseHead', () => {
  const CASES: [string, number[], number][] = [
    ['multiclass-unet', [16, 32, 32], 12],
    ['multiclass-2d', [32, 32], 12],
    ['multiclass-pointwise', [16, 32, 32], 12],
  ];
  for (const [name, spatial, classes] of CASES)
    it(`${name}: body + heads equal the whole network bit for bit`, async () => {
      const bytes = fixture(name);
      const whole = await ort.InferenceSession.create(bytes, OPTS);
      const n = spatial.reduce((a, b) => a * b, 1);
      const x = noise(n, 7);
      const feeds = { input: new ort.Tensor('float32', x, [1, 1, ...spatial]) };
      const ref = (await whole.run(feeds)).output!.data as Float32Array;
      expect(ref.length).toBe(classes * n);
      for (const maxPerHead of [2, 5, 11]) {
        const sp = splitPointwiseHead(bytes, 'output', maxPerHead, spatial)!;
        expect(sp).not.toBeNull();
        // Ranges cover all classes in order, at most maxPerHead (never a single class) each.
        let next = 0;
        for (const h of sp.heads) {
          expect(h.firstClass).toBe(next);
          expect(h.count).toBeGreaterThanOrEqual(2);
          expect(h.count).toBeLessThanOrEqual(Math.max(2, maxPerHead));
          next += h.count;
        }
        expect(next).toBe(classes);
        let feats = x;
        if (name === 'multiclass-pointwise') expect(sp.body).toBeNull();
        else {
          const body = await ort.InferenceSession.create(sp.body!, OPTS);
          expect(body.outputNames).toEqual([sp.featuresName]);
          feats = (await body.run(feeds))[sp.featuresName]!.data as Float32Array;
          expect(feats.length).toBe(sp.featureChannels * n);
          await body.release();
        }
        let differing = 0;
        for (const h of sp.heads) {
          const hs = await ort.InferenceSession.create(h.model, OPTS);
          const out = (await hs.run({ [sp.featuresName]: new ort.Tensor('float32', feats, [1, sp.featureChannels, ...spatial]) })).output!.data as Float32Array;
          expect(out.length).toBe(h.count * n);
          const base = h.firstClass * n;
          for (let i = 0; i < out.length; i++) if (out[i] !== ref[base + i]) differing++;
          await hs.release();
        }
        expect(differing, `${name}, ≤ ${maxPerHead} classes per head`).toBe(0);
      }
      await whole.release();
    });

  it('leaves a model alone whose output is not made by a pointwise Conv', () => {
    const bytes = fixture('multiclass-unet');
    // An inner activation of the U-Net: produced by a LeakyRelu, not a Conv.
    const graph = pbDecode(pbDecode(bytes).find((f) => f.no === 7)!.v as Uint8Array);
    const td = new TextDecoder();
    const relu = graph
      .filter((f) => f.no === 1)
      .map((f) => pbDecode(f.v as Uint8Array))
      .find((n) => n.some((f) => f.no === 4 && td.decode(f.v as Uint8Array) === 'LeakyRelu'))!;
    const reluOut = td.decode(relu.find((f) => f.no === 2)!.v as Uint8Array);
    expect(splitPointwiseHead(bytes, reluOut, 4, [16, 32, 32])).toBeNull();
    expect(splitPointwiseHead(bytes, 'no-such-output', 4, [16, 32, 32])).toBeNull();
    // A 3-class model cannot be split without a single-class head: left whole.
    expect(splitPointwiseHead(fixture('tcia-mr-2ch'), 'output', 2, [16, 64, 64])!.heads).toHaveLength(1);
  });
});

/** Node count per operator type of a model. */
function opCounts(bytes: Uint8Array): Map<string, number> {
  const td = new TextDecoder();
  const graph = pbDecode(pbDecode(bytes).find((f) => f.no === 7)!.v as Uint8Array);
  const counts = new Map<string, number>();
  for (const f of graph.filter((x) => x.no === 1)) {
    const op = td.decode(pbDecode(f.v as Uint8Array).find((x) => x.no === 4)!.v as Uint8Array);
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  return counts;
}

describe('rewriteStridedConvTranspose', () => {
  const CASES: [string, number][] = [
    ['test/fixtures/engine/multiclass-unet/fold_0.onnx', 2],
    ['test/fixtures/engine/tcia-mr-2ch/fold_1.onnx', 3],
    ['test/fixtures/engine/totalseg-ct/fold_0.onnx', 2],
  ];
  for (const [file, expected] of CASES)
    it(`${file}: ${expected} ConvTranspose → pointwise Conv + DepthToSpace, same outputs bit for bit`, async () => {
      const bytes = new Uint8Array(readFileSync(`${PROJECT_ROOT}/${file}`));
      const r = rewriteStridedConvTranspose(bytes)!;
      expect(r.rewritten).toBe(expected);
      expect(opCounts(r.model).get('ConvTranspose') ?? 0).toBe(0);
      expect(opCounts(r.model).get('DepthToSpace')).toBeGreaterThanOrEqual(expected);
      const a = await ort.InferenceSession.create(bytes, OPTS);
      const b = await ort.InferenceSession.create(r.model, OPTS);
      const meta = a.inputMetadata[0]!;
      const dims = (meta.isTensor ? meta.shape : []).map(Number);
      const x = noise(dims.reduce((p, q) => p * q, 1), 11);
      const feeds = { [a.inputNames[0]!]: new ort.Tensor('float32', x, dims) };
      const ya = (await a.run(feeds))[a.outputNames[0]!]!.data as Float32Array;
      const yb = (await b.run(feeds))[b.outputNames[0]!]!.data as Float32Array;
      expect(yb.length).toBe(ya.length);
      let differing = 0;
      for (let i = 0; i < ya.length; i++) if (ya[i] !== yb[i]) differing++;
      expect(differing).toBe(0);
      await a.release();
      await b.release();
    });

  it('keeps a ConvTranspose weight that is also a graph input (keep_initializers_as_inputs exports)', async () => {
    const bytes = fixture('multiclass-unet');
    const td = new TextDecoder();
    const te = new TextEncoder();
    const model = pbDecode(bytes);
    const gi = model.findIndex((f) => f.no === 7);
    const graph = pbDecode(model[gi]!.v as Uint8Array);
    const ct = graph
      .filter((f) => f.no === 1)
      .map((f) => pbDecode(f.v as Uint8Array))
      .find((n) => n.some((f) => f.no === 4 && td.decode(f.v as Uint8Array) === 'ConvTranspose'))!;
    const weight = td.decode(ct.filter((f) => f.no === 1)[1]!.v as Uint8Array);
    // A graph input (ValueInfoProto: name only) with the weight's name, as torch.onnx writes with keep_initializers_as_inputs.
    graph.push({ no: 11, wt: 2, v: pbEncode([{ no: 1, wt: 2, v: te.encode(weight) }]) });
    const withInput = pbEncode(model.map((f, i) => (i === gi ? { no: 7, wt: 2 as const, v: pbEncode(graph) } : f)));
    const r = rewriteStridedConvTranspose(withInput)!;
    const names = pbDecode(pbDecode(r.model).find((f) => f.no === 7)!.v as Uint8Array)
      .filter((f) => f.no === 5)
      .map((f) => td.decode(pbDecode(f.v as Uint8Array).find((x) => x.no === 8)!.v as Uint8Array));
    expect(names).toContain(weight);
    const s = await ort.InferenceSession.create(r.model, OPTS);
    const x = noise(16 * 32 * 32, 3);
    const y = (await s.run({ input: new ort.Tensor('float32', x, [1, 1, 16, 32, 32]) })).output!.data as Float32Array;
    const ref = await ort.InferenceSession.create(bytes, OPTS);
    const yRef = (await ref.run({ input: new ort.Tensor('float32', x, [1, 1, 16, 32, 32]) })).output!.data as Float32Array;
    expect(Array.from(y)).toEqual(Array.from(yRef));
    await s.release();
    await ref.release();
  });

  it('leaves 2-D networks and models without a kernel = stride ConvTranspose alone', () => {
    // 2-D: a 2-D pointwise Conv would take ONNX Runtime's NCHWc kernels and change the last bit (bundled model).
    for (const f of ['test/fixtures/engine/multiclass-2d/fold_0.onnx', 'test/fixtures/engine/tcia-mr-2d/fold_0.onnx', 'native-models/brain-tumour-t1c/fold_0.onnx'])
      expect(rewriteStridedConvTranspose(new Uint8Array(readFileSync(`${PROJECT_ROOT}/${f}`))), f).toBeNull();
    expect(rewriteStridedConvTranspose(fixture('multiclass-pointwise'))).toBeNull();
    expect(rewriteStridedConvTranspose(new Uint8Array(readFileSync(`${PROJECT_ROOT}/test/fixtures/engine/synthetic-100/fold_0.onnx`)))).toBeNull();
  });
});

describe('rewriteDepthAsBatch', () => {
  /** Every output of `original` and `rewritten` on the same input: same shapes, values within float32 summation-order error. */
  async function compare(original: Uint8Array, rewritten: Uint8Array, dims: number[]): Promise<{ maxAbs: number; outputs: number }> {
    const a = await ort.InferenceSession.create(original, OPTS);
    const b = await ort.InferenceSession.create(rewritten, OPTS);
    expect([...b.outputNames].sort()).toEqual([...a.outputNames].sort());
    const feeds = { [a.inputNames[0]!]: new ort.Tensor('float32', noise(dims.reduce((p, q) => p * q, 1), 5), dims) };
    const ra = await a.run(feeds);
    const rb = await b.run(feeds);
    let maxAbs = 0;
    for (const name of a.outputNames) {
      expect(rb[name]!.dims, name).toEqual(ra[name]!.dims);
      const ya = ra[name]!.data as Float32Array;
      const yb = rb[name]!.data as Float32Array;
      let scale = 1;
      for (const v of ya) scale = Math.max(scale, Math.abs(v));
      let d = 0;
      for (let i = 0; i < ya.length; i++) d = Math.max(d, Math.abs(ya[i]! - yb[i]!));
      // Not bit for bit (other kernels, other summation order), but float32 rounding, not a wrong element.
      expect(d / scale, name).toBeLessThan(1e-4);
      maxAbs = Math.max(maxAbs, d);
    }
    await a.release();
    await b.release();
    return { maxAbs, outputs: a.outputNames.length };
  }
  const inputDims = async (bytes: Uint8Array): Promise<number[]> => {
    const s = await ort.InferenceSession.create(bytes, OPTS);
    const meta = s.inputMetadata[0]!;
    await s.release();
    return (meta.isTensor ? meta.shape : []).map(Number);
  };

  for (const [name, convs] of [
    ['multiclass-unet', 12],
    ['tcia-mr-2ch', 17],
    ['totalseg-ct', 12],
  ] as const)
    it(`${name}: ${convs} convolutions made 2-D, same outputs up to rounding, head still 3-D and splittable`, async () => {
      const bytes = fixture(name);
      const r = rewriteDepthAsBatch(bytes);
      expect(r.reason).toBeUndefined();
      expect(r.convs).toBe(convs);
      const counts = opCounts(r.model!);
      expect(counts.get('InstanceNormalization') ?? 0).toBe(0);
      expect(counts.get('BatchNormalization')).toBe(opCounts(bytes).get('InstanceNormalization'));
      const dims = await inputDims(bytes);
      await compare(bytes, r.model!, dims);
      // The head is the same 3-D pointwise Conv: split heads over the rewritten body equal the rewritten whole.
      const split = splitPointwiseHead(r.model!, 'output', 2, dims.slice(2))!;
      expect(split).not.toBeNull();
      const whole = await ort.InferenceSession.create(r.model!, OPTS);
      const body = await ort.InferenceSession.create(split.body!, OPTS);
      const x = new ort.Tensor('float32', noise(dims.reduce((p, q) => p * q, 1), 9), dims);
      const ref = (await whole.run({ [whole.inputNames[0]!]: x })).output!.data as Float32Array;
      const features = (await body.run({ [body.inputNames[0]!]: x }))[split.featuresName]!;
      const n = dims.slice(2).reduce((p, q) => p * q, 1);
      for (const h of split.heads) {
        const hs = await ort.InferenceSession.create(h.model, OPTS);
        const y = (await hs.run({ [split.featuresName]: features })).output!.data as Float32Array;
        expect(Array.from(y)).toEqual(Array.from(ref.subarray(h.firstClass * n, (h.firstClass + h.count) * n)));
        await hs.release();
      }
      await whole.release();
      await body.release();
    });

  it('zoo (strided and asymmetric depth kernels, residual, strided 1×1×1 skip, pooling, resize, Constant node, constant − activation, depth concat, softmax head, two outputs, opset 13): same outputs', async () => {
    const bytes = new Uint8Array(readFileSync(`${PROJECT_ROOT}/test/fixtures/engine/depth-batch-zoo/model.onnx`));
    const r = rewriteDepthAsBatch(bytes);
    expect(r.reason).toBeUndefined();
    // 3 Convs with a depth kernel (3 + 3 + 2 taps), 1×3×3, the strided 1×1×1 skip, the pointwise head (consumed by
    // Softmax: made 2-D), 2 ConvTransposes.
    expect(r.convs).toBe(8);
    const counts = opCounts(r.model!);
    expect(counts.get('Conv')).toBe(3 + 3 + 2 + 1 + 1 + 1);
    expect(counts.get('ConvTranspose')).toBe(2);
    // Pooling and resizing run as exported (on the activation transposed back).
    expect([counts.get('AveragePool'), counts.get('MaxPool'), counts.get('Resize'), counts.get('Constant')]).toEqual([1, 1, 1, 1]);
    // BatchNormalization in training mode needs opset 14: raised from 13.
    const opset = pbDecode(r.model!).filter((f) => f.no === 8).map((f) => pbDecode(f.v as Uint8Array));
    expect(opset.map((o) => Number(o.find((f) => f.no === 2)!.v))).toEqual([14]);
    const { outputs } = await compare(bytes, r.model!, [1, 2, 8, 12, 10]);
    expect(outputs).toBe(2);
  });

  it('zoo with its weights also listed as graph inputs (keep_initializers_as_inputs): depth taps sliced here, same outputs', async () => {
    const bytes = new Uint8Array(readFileSync(`${PROJECT_ROOT}/test/fixtures/engine/depth-batch-zoo/inits_as_inputs.onnx`));
    const r = rewriteDepthAsBatch(bytes);
    expect(r.reason).toBeUndefined();
    expect(r.convs).toBe(8);
    // ONNX Runtime does not fold a Gather on an overridable initializer: none is used for them.
    expect(opCounts(r.model!).get('Gather')).toBeUndefined();
    expect(opCounts(rewriteDepthAsBatch(new Uint8Array(readFileSync(`${PROJECT_ROOT}/test/fixtures/engine/depth-batch-zoo/model.onnx`))).model!).get('Gather')).toBe(3 + 3 + 2);
    const { outputs } = await compare(bytes, r.model!, [1, 2, 8, 12, 10]);
    expect(outputs).toBe(2);
  });

  it('says why it leaves a model alone', () => {
    const file = (f: string): Uint8Array => new Uint8Array(readFileSync(`${PROJECT_ROOT}/${f}`));
    expect(rewriteDepthAsBatch(fixture('multiclass-2d')).reason).toBe('input is not rank 5');
    expect(rewriteDepthAsBatch(file('native-models/brain-tumour-t1c/fold_0.onnx')).reason).toBe('input is not rank 5');
    // A lone pointwise head: nothing worth rewriting.
    expect(rewriteDepthAsBatch(fixture('multiclass-pointwise')).reason).toBe('no convolution to rewrite');
    expect(rewriteDepthAsBatch(file('test/fixtures/import/tiny/tiny_external.onnx')).reason).toMatch(/weights in the file/);
    // MONAI's UNet upsamples with overlapping 3×3×3 stride-2 ConvTransposes.
    expect(rewriteDepthAsBatch(file('test/fixtures/import/monai/model/model.onnx')).reason).toMatch(/ConvTranspose whose depth kernel/);
  });
});
