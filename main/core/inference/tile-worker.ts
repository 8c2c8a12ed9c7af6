/**
 * A CPU network worker of the engine's pool (./network-pool.ts): holds one ONNX Runtime session per fold and runs
 * single tiles on them, one at a time, with the mirroring of test-time augmentation done here (input flipped,
 * output flipped back), so that the engine thread only sums and blends.
 *
 * Protocol (parentPort; shapes in ./network-pool.ts): workerData is a {@link TileWorkerInit}; the worker posts
 * `ready` with each fold session's input/output metadata, or `failed`. In: `run` tasks (`input` C-order
 * [Cin, p0, p1, p2] float32; `variants` the mirror variants to run, each a list of spatial axes to flip); out: per
 * task exactly one `result` (C-order [A, p0, p1, p2] float32: the variants' outputs flipped back and summed in
 * order, its buffer transferred) or `error`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createSession, ort } from './session';
import type { TileWorkerInit, TileWorkerIn, TileWorkerOut } from './network-pool';
import { flipInto } from './tta';

const init = workerData as TileWorkerInit;
const port = parentPort!;
const post = (m: TileWorkerOut, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

async function main(): Promise<void> {
  const sessions: ort.InferenceSession[] = [];
  try {
    for (const f of init.folds) {
      sessions.push(await createSession(f.bytes ?? f.path, { device: 'cpu', threads: init.threadsPerWorker }, f.path));
      // The session has its own copy of the weights: let this one go.
      delete f.bytes;
    }
  } catch (e) {
    for (const s of sessions) await s.release();
    post({ type: 'failed', message: (e as Error).message });
    port.close();
    return;
  }
  post({
    type: 'ready',
    meta: sessions.map((s) => ({ inputNames: [...s.inputNames], outputNames: [...s.outputNames], inputMetadata: s.inputMetadata, outputMetadata: s.outputMetadata })),
  });
  const { inDims, outChannels, inputName, outputName } = init;
  const [, Cin, ...spatial] = inDims;
  const sp = spatial.length === 3 ? spatial : [1, ...spatial];
  const tileDims: [number, number, number, number] = [Cin!, sp[0]!, sp[1]!, sp[2]!];
  const outDims: [number, number, number, number] = [outChannels, sp[0]!, sp[1]!, sp[2]!];
  const tileVox = sp[0]! * sp[1]! * sp[2]!;
  const flipped = new Float32Array(Cin! * tileVox);
  // Tasks are handled strictly one after another (ONNX Runtime's run blocks this thread anyway); `closing` is set
  // as soon as a close arrives, so a task of several mirror variants stops after the run it is in.
  let chain = Promise.resolve();
  let closing = false;
  port.on('message', (m: TileWorkerIn) => {
    if (m.type === 'close') {
      closing = true;
      chain = chain.then(async () => {
        for (const s of sessions) await s.release().catch(() => {});
        port.close();
      });
      return;
    }
    chain = chain.then(async () => {
      try {
        // The sum over the variants, in the given order, exactly as the engine's in-process path forms it: the
        // first output (flipped back) as is, each further one flipped back and added in float32.
        let sum: Float32Array<ArrayBuffer> | undefined;
        for (const axes of m.variants) {
          if (closing) return;
          let input = m.input;
          if (axes.length) {
            flipInto(m.input, tileDims, axes, flipped, false);
            input = flipped;
          }
          const out = await sessions[m.fold]!.run({ [inputName]: new ort.Tensor('float32', input, inDims) }, [outputName]);
          const t = out[outputName] as ort.Tensor;
          if (t.type !== 'float32' || t.data.length !== outChannels * tileVox) {
            t.dispose();
            post({ type: 'error', id: m.id, message: `output '${outputName}' is ${t.type} [${t.dims.join(', ')}], expected float32 [1, ${outChannels}, ${spatial.join(', ')}]`, kind: 'shape' });
            return;
          }
          const data = t.data as Float32Array;
          if (!sum) {
            sum = new Float32Array(data.length);
            if (axes.length) flipInto(data, outDims, axes, sum, false);
            else sum.set(data);
          } else flipInto(data, outDims, axes, sum, true);
          t.dispose();
          // Let a close message in between runs.
          if (m.variants.length > 1) await new Promise((r) => setImmediate(r));
        }
        post({ type: 'result', id: m.id, output: sum! }, [sum!.buffer]);
      } catch (e) {
        post({ type: 'error', id: m.id, message: (e as Error).message, kind: 'run' });
      }
    });
  });
}

void main();
