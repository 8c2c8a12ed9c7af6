/**
 * `npm run bench`: runs every test/bench/*.bench.ts in turn (or those named on the command line, e.g.
 * `npm run bench -- read mesh`). Each module default-exports `async (log) => BenchResult[]`; results are printed
 * as a table and written to test-results/bench.json. Figures are ratios against a reference run in the same
 * process/session, never absolute timings asserted in tests.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchResult {
  /** What was measured, e.g. "read 300-slice CT". */
  name: string;
  /** Delineate's figure. */
  value: number;
  unit: string;
  /** The reference's figure in the same run (dcm2niix, PyTorch, VTK …), where there is one. */
  reference?: { name: string; value: number };
  /** value / reference.value. */
  ratio?: number;
  notes?: string;
}

export type Bench = (log: (line: string) => void) => Promise<BenchResult[]>;

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

const all: (BenchResult & { suite: string })[] = [];
for (const file of files) {
  const suite = file.replace(/\.bench\.ts$/, '');
  process.stderr.write(`\n== ${suite}\n`);
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { default: Bench };
  const results = await mod.default((line) => process.stderr.write(`  ${line}\n`));
  for (const r of results) {
    if (r.reference && r.ratio === undefined) r.ratio = r.value / r.reference.value;
    all.push({ suite, ...r });
  }
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toPrecision(3));
console.log('\n| suite | measurement | Delineate | reference | ratio |\n|---|---|---|---|---|');
for (const r of all)
  console.log(
    `| ${r.suite} | ${r.name} | ${fmt(r.value)} ${r.unit} | ${r.reference ? `${r.reference.name}: ${fmt(r.reference.value)} ${r.unit}` : '—'} | ${r.ratio !== undefined ? fmt(r.ratio) : '—'} |`,
  );
for (const r of all.filter((x) => x.notes)) console.log(`- ${r.suite}, ${r.name}: ${r.notes}`);
const outDir = resolve(here, '..', '..', 'test-results');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'bench.json'), JSON.stringify(all, null, 2));
