/**
 * ONNX Runtime's 3-D convolution path against PyTorch on the same network: the bench's PlainConvUNet (nnU-Net
 * layout, (1,3,3) kernels in the first two stages, (3,3,3) below) exported by test/reference/conv3d_variants.py
 * in several exactly-equivalent graph forms, each timed in onnxruntime-node under several session settings, in
 * one run with PyTorch's own time for one forward pass. Each variant's output is compared with the original
 * graph's (max |Δ|). Also the engine's own load-time rewrites of the original graph (onnx-graph.ts: depth as
 * batch — what a CPU run executes — and the ConvTranspose rewrite alone).
 *
 * Usage: tsx test/bench/inference-conv.ts [--features 16,32,64,96,96] [--patch 24,128,128] [--runs 5] [--only a,b]
 * Needs the reference venv (DELINEATE_PY, default /work/py/venv/bin/python). Prints one JSON line per
 * measurement and a table: wall ms per run (all cores) and CPU ms per run, with ratios to PyTorch; the 1-thread
 * CPU-time ratio is the robust one on a shared machine (other processes change wall times, not the work done).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rewriteDepthAsBatch, rewriteStridedConvTranspose } from '../../main/core/inference/onnx-graph';
import { ort } from '../../main/core/inference/session';
import { PROJECT_ROOT } from '../helpers/data';

const args = process.argv.slice(2);
const arg = (n: string, d: string): string => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1]! : d);
const PY = process.env.DELINEATE_PY ?? '/work/py/venv/bin/python';
const runs = Number(arg('runs', '5'));
const only = args.includes('--only') ? arg('only', '').split(',') : undefined;
const dir = args.includes('--dir') ? arg('dir', '') : mkdtempSync(join(tmpdir(), 'delineate-conv-'));

interface Setting {
  name: string;
  options: ort.InferenceSession.SessionOptions;
}
const base: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', executionMode: 'sequential', intraOpNumThreads: 2, interOpNumThreads: 1, enableCpuMemArena: true, enableMemPattern: true };
const SETTINGS: Setting[] = [
  { name: 'engine (all, seq, 2 threads)', options: base },
  { name: 'extended', options: { ...base, graphOptimizationLevel: 'extended' } },
  { name: 'basic', options: { ...base, graphOptimizationLevel: 'basic' } },
  { name: 'disabled', options: { ...base, graphOptimizationLevel: 'disabled' } },
  { name: '1 thread', options: { ...base, intraOpNumThreads: 1 } },
  { name: '1 thread, basic', options: { ...base, intraOpNumThreads: 1, graphOptimizationLevel: 'basic' } },
  { name: 'no arena/mem pattern', options: { ...base, enableCpuMemArena: false, enableMemPattern: false } },
  { name: 'parallel, 2 inter-op', options: { ...base, executionMode: 'parallel', interOpNumThreads: 2 } },
  { name: 'no spinning', options: { ...base, extra: { session: { intra_op: { allow_spinning: '0' } } } } },
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  if (!args.includes('--dir')) {
    process.stderr.write('exporting variants and timing PyTorch…\n');
    execFileSync(PY, [join(PROJECT_ROOT, 'test/reference/conv3d_variants.py'), dir, '--features', arg('features', '16,32,64,96,96'), '--patch', arg('patch', '24,128,128'), '--runs', String(runs)], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const torch = JSON.parse(readFileSync(join(dir, 'torch.json'), 'utf8')) as {
    torchMsPerRun: number;
    torch1: { wallMs: number; cpuMs: number };
    patch: number[];
    variants: Record<string, unknown>;
  };
  const buf = readFileSync(join(dir, 'input.f32'));
  const x = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const feeds = { input: new ort.Tensor('float32', x, [1, 1, ...torch.patch]) };
  let ref: Float32Array | undefined;
  const rows: { variant: string; setting: string; ms: number; cpuMs: number; ratio: number; cpuRatio?: number; maxAbsDiff: number }[] = [];
  // The engine's own load-time rewrites of the original graph (what a CPU run executes): depth-as-batch, and the
  // ConvTranspose rewrite alone (what runs where depth-as-batch does not apply).
  const original = new Uint8Array(readFileSync(join(dir, 'original.onnx')));
  const engineVariants: Record<string, Uint8Array | null> = { 'engine: depth as batch': rewriteDepthAsBatch(original).model, 'engine: ConvTranspose rewrite only': rewriteStridedConvTranspose(original)?.model ?? null };
  for (const [name, bytes] of Object.entries(engineVariants)) if (bytes) writeFileSync(join(dir, `${name}.onnx`), bytes);
  const variants = [...Object.keys(torch.variants), ...Object.keys(engineVariants).filter((k) => engineVariants[k])];
  for (const variant of variants) {
    for (const st of SETTINGS) {
      if (variant !== 'original' && st.name !== SETTINGS[0]!.name && st.name !== '1 thread' && !only?.includes(`${variant}:${st.name}`)) continue;
      if (only && !only.includes(variant) && !only.includes(`${variant}:${st.name}`)) continue;
      const s = await ort.InferenceSession.create(join(dir, `${variant}.onnx`), st.options);
      const out = (await s.run(feeds)).output!.data as Float32Array;
      ref ??= out;
      let maxAbsDiff = 0;
      for (let i = 0; i < out.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(out[i]! - ref[i]!));
      const ts: number[] = [];
      const cpu: number[] = [];
      for (let k = 0; k < runs; k++) {
        const t = performance.now();
        const c = process.cpuUsage();
        await s.run(feeds);
        ts.push(performance.now() - t);
        const dc = process.cpuUsage(c);
        cpu.push((dc.user + dc.system) / 1000);
      }
      await s.release();
      const ms = median(ts);
      const cpuMs = median(cpu);
      const oneThread = st.options.intraOpNumThreads === 1;
      const row = { variant, setting: st.name, ms, cpuMs, ratio: ms / torch.torchMsPerRun, ...(oneThread ? { cpuRatio: cpuMs / torch.torch1.cpuMs } : {}), maxAbsDiff, runsMs: ts.map((t) => Math.round(t)) };
      console.log(JSON.stringify(row));
      rows.push(row);
    }
  }
  console.log(
    `\nPyTorch per forward pass (patch ${torch.patch.join('×')}): ${torch.torchMsPerRun.toFixed(0)} ms wall with all cores; ` +
      `${torch.torch1.cpuMs.toFixed(0)} ms CPU with 1 thread\n\n| variant | settings | wall ms/run | ÷ PyTorch wall | CPU ms/run | 1 thread: CPU ÷ PyTorch CPU | max abs diff vs original |\n|---|---|---|---|---|---|---|`,
  );
  for (const r of rows)
    console.log(`| ${r.variant} | ${r.setting} | ${r.ms.toFixed(0)} | ${r.ratio.toFixed(2)} | ${r.cpuMs.toFixed(0)} | ${r.cpuRatio?.toFixed(2) ?? '—'} | ${r.maxAbsDiff.toExponential(1)} |`);
} finally {
  if (!args.includes('--dir')) rmSync(dir, { recursive: true, force: true });
}
