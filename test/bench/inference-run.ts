/**
 * Delineate side of inference.bench.ts, run as its own process so that its peak RSS is its own:
 * `tsx test/bench/inference-run.ts <modelDir> <input>... [--no-tta] [--accumulation float16|float32] [--threads n] [--workers n] [--warmup]`.
 * Reads the inputs, segments, prints one JSON line with stage timings (wall), CPU seconds of this process (all
 * threads, user + system) for reading and for segmenting, peak RSS (VmHWM) and the label map's
 * agreement with `<modelDir>/torch_labels.npy` when present (nnU-Net's labels, C-order [k, j, i] uint8).
 */
import { existsSync, readFileSync } from 'node:fs';
import { segment, type SegmentOptions } from '../../main/core/inference/engine';
import { readImageFile } from '../../main/core/io';
import { loadModel } from '../../main/core/models/registry';

const args = process.argv.slice(2);
const flag = (n: string): string | undefined => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : undefined);
const positional = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && ['--accumulation', '--threads', '--workers'].includes(args[i - 1]!)));
const [modelDir, ...inputs] = positional as [string, ...string[]];
let t0 = performance.now();
let cpu0 = process.cpuUsage();
const cpuSeconds = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
};
const acc = flag('accumulation') as 'float16' | 'float32' | undefined;
const threads = flag('threads');
const workers = flag('workers');
const options: SegmentOptions = { device: 'cpu', tta: !args.includes('--no-tta'), ...(acc ? { accumulation: acc } : {}), ...(threads ? { threads: Number(threads) } : {}), ...(workers ? { networkWorkers: Number(workers) } : {}) };
const model = await loadModel(modelDir);
if (args.includes('--warmup')) {
  // Steady state: the timed run is the process's second (as in a batch or the app), after one untimed run with the
  // same options (so the network it keeps warm is the one the timed run uses).
  const warm = await Promise.all(inputs.map((p) => readImageFile(p)));
  await segment(model, warm, options);
  t0 = performance.now();
  cpu0 = process.cpuUsage();
}
const vols = await Promise.all(inputs.map((p) => readImageFile(p)));
const tRead = performance.now();
const cpuRead = process.cpuUsage();
const readCpu = cpuSeconds(cpu0);
const res = await segment(model, vols, options);
const total = (performance.now() - t0) / 1000;
const segmentCpu = cpuSeconds(cpuRead);
const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
let differing: number | undefined;
const ref = `${modelDir}/torch_labels.npy`;
if (existsSync(ref)) {
  const buf = readFileSync(ref);
  const headerLen = buf.readUInt16LE(8);
  const labels = buf.subarray(10 + headerLen);
  differing = 0;
  // .npy is C-order [k, j, i] = i fastest, the same order as the label map.
  for (let i = 0; i < labels.length; i++) if (labels[i] !== res.labels.data[i]) differing++;
}
console.log(
  JSON.stringify({
    seconds: { read: (tRead - t0) / 1000, preprocess: res.stats.seconds.preprocess, inference: res.stats.seconds.inference, segment: res.stats.seconds.total, total },
    cpuSeconds: { read: readCpu, segment: segmentCpu },
    peakRssBytes: m ? Number(m[1]) * 1024 : 0,
    tiles: res.stats.tiles,
    networkWorkers: res.stats.networkWorkers,
    networkWarm: res.stats.networkWarm,
    networkRuns: res.stats.networkRuns,
    accumulation: res.stats.accumulation,
    voxels: res.labels.data.length,
    differing,
  }),
);
