/**
 * `npm run bench -- inference`: Delineate against PyTorch (nnU-Net v2's own predictor) on the same network, the
 * same real volume and the same settings (tiles, step 0.5, Gaussian blending, mirroring TTA), each in its own
 * process, measured in one run: wall time and peak RSS, and their ratios (Delineate / PyTorch; < 1 is better).
 * Also the engine's peak RSS on a 100-class model over a 512×512×300 volume, beside classes × volume × 4 bytes.
 *
 * The PyTorch side needs the reference venv (DELINEATE_PY, default /work/py/venv/bin/python) with nnunetv2;
 * without it those rows are skipped with a message (benchmarks only — tests never need Python).
 * Env: DELINEATE_BENCH_FEATURES (default 16,32,64,96,96), DELINEATE_BENCH_PATCH (default 24,128,128),
 * DELINEATE_BENCH_MODES (default "tta,notta"), DELINEATE_BENCH_SKIP_MEMORY=1 to skip the 100-class run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataPath, PROJECT_ROOT } from '../helpers/data';
import type { Bench, BenchResult } from './index';

const PY = process.env.DELINEATE_PY ?? '/work/py/venv/bin/python';
const IMAGE = 'tcia-brain-tumor-progression/nifti/PGBM-001_04-02-1992/PGBM-001_04-02-1992_T1post.nii.gz';

function runJson(cmd: string, args: string[]): Record<string, unknown> {
  const out = execFileSync(cmd, args, { cwd: PROJECT_ROOT, encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`${cmd} ${args.join(' ')}: no JSON output`);
  return JSON.parse(line) as Record<string, unknown>;
}

const tsx = join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');

const bench: Bench = async (log) => {
  const results: BenchResult[] = [];
  const features = process.env.DELINEATE_BENCH_FEATURES ?? '16,32,64,96,96';
  const patch = process.env.DELINEATE_BENCH_PATCH ?? '24,128,128';
  if (!existsSync(PY) || !existsSync(dataPath(IMAGE))) {
    log(`PyTorch reference skipped: ${!existsSync(PY) ? `no Python venv at ${PY} (set DELINEATE_PY)` : `no data ${dataPath(IMAGE)}`}`);
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'delineate-bench-'));
    try {
      const modes = (process.env.DELINEATE_BENCH_MODES ?? 'tta,notta').split(',');
      for (const tta of [true, false].filter((t) => modes.includes(t ? 'tta' : 'notta'))) {
        const flags = tta ? [] : ['--no-tta'];
        log(`PlainConvUNet ${features}, patch ${patch}, ${tta ? 'mirroring TTA (8 runs per tile)' : 'no TTA'}: nnU-Net predictor (PyTorch)…`);
        const torch = runJson(PY, [join(PROJECT_ROOT, 'test/reference/bench_nnunet.py'), dir, '--features', features, '--patch', patch, ...flags]);
        log(`  PyTorch: ${JSON.stringify(torch)}`);
        log('  Delineate (onnxruntime-node, CPU)…');
        const mine = runJson(tsx, [join(PROJECT_ROOT, 'test/bench/inference-run.ts'), dir, dataPath(IMAGE), ...flags]);
        log(`  Delineate: ${JSON.stringify(mine)}`);
        const ts = (torch.seconds as { total: number }).total;
        const ms = (mine.seconds as { total: number }).total;
        const what = `${tta ? 'TTA' : 'no TTA'}, PlainConvUNet ${features}, patch ${patch}, real MR`;
        results.push({ name: `segment wall time (${what})`, value: ms, unit: 's', reference: { name: 'nnU-Net/PyTorch', value: ts }, notes: `labels differing from nnU-Net: ${String(mine.differing)} of ${String(mine.voxels)}` });
        results.push({ name: `segment peak RSS (${what})`, value: (mine.peakRssBytes as number) / 2 ** 20, unit: 'MiB', reference: { name: 'nnU-Net/PyTorch', value: (torch.peakRssBytes as number) / 2 ** 20 } });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (process.env.DELINEATE_BENCH_SKIP_MEMORY !== '1') {
    log('100-class synthetic model on a 512×512×300 volume (step 1, no TTA)…');
    const mem = runJson(tsx, [join(PROJECT_ROOT, 'test/bench/inference-memory.ts'), '--step', '1']);
    log(`  ${JSON.stringify(mem)}`);
    results.push({
      name: '100-class 512×512×300 peak RSS',
      value: (mem.peakRssBytes as number) / 2 ** 30,
      unit: 'GiB',
      reference: { name: 'classes × volume × 4 B', value: (mem.fullLogitsOriginalBytes as number) / 2 ** 30 },
      notes: `band ${((mem.bandBytes as number) / 2 ** 30).toFixed(2)} GiB; network grid ${(mem.networkShape as number[]).join('×')}`,
    });
  }
  return results;
};
export default bench;
