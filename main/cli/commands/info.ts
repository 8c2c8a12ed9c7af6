/**
 * `delineate info <file-or-folder> [--json]` — list the volumes in a file or folder (recursive), with their LPS
 * geometry, and the files that were skipped and why.
 */
import { DelineateError } from '../../common/errors';
import { orientationCode } from '../../common/geometry';
import type { Progress } from '../../common/progress';
import type { ScanResult, VolumeInfo } from '../../common/volume';
import { scanPath } from '../../core/io/index';
import { parseArgs } from '../args';
import type { CliIo } from '../io';

export const usage = `Usage: delineate info <file-or-folder> [--json]

List the volumes found in a DICOM folder (searched recursively) or a NIfTI/NRRD/MetaImage file.

Options:
  --json   print {"volumes":[…],"skipped":[…]} to stdout (geometry in LPS: originMm is the centre of voxel
           (0,0,0); direction is 9 numbers, row-major, whose columns are the i, j, k axes)

Volume ids are stable for the same files; pass one to \`delineate convert --series <id>\`.
Exit status: 0 when at least one volume was found, 1 when none was (the listing still goes to stdout).`;

/** The public JSON shape of one volume (field order as documented in the issue; `study` is not part of it). */
export function volumeJson(v: VolumeInfo): Record<string, unknown> {
  return {
    id: v.id,
    source: v.source,
    modality: v.modality,
    description: v.description,
    size: v.size,
    spacingMm: v.spacingMm,
    originMm: v.originMm,
    direction: v.direction,
    dataType: v.dataType,
    files: v.files,
    warnings: v.warnings,
  };
}

export function scanJson(scan: ScanResult): { volumes: Record<string, unknown>[]; skipped: { path: string; reason: string }[] } {
  return { volumes: scan.volumes.map(volumeJson), skipped: scan.skipped.map((s) => ({ path: s.path, reason: s.reason })) };
}

/** A progress reporter for stderr: a redrawn line on a terminal, nothing when piped. */
export function progressPrinter(io: CliIo): { onProgress: (p: Progress) => void; done: () => void } {
  let drawn = false;
  let last = 0;
  return {
    onProgress: (p) => {
      if (!io.isTTY) return;
      const now = Date.now();
      if (now - last < 100 && p.done !== p.total) return;
      last = now;
      const pct = p.total > 0 ? Math.floor((100 * p.done) / p.total) : 0;
      io.stderr(`\r${p.stage} ${p.done}/${p.total} (${pct}%)   `);
      drawn = true;
    },
    done: () => {
      if (drawn) io.stderr('\r\x1b[K');
    },
  };
}

const num = (n: number, digits = 3) => String(Math.round(n * 10 ** digits) / 10 ** digits);

function table(scan: ScanResult): string {
  const lines: string[] = [];
  if (scan.volumes.length === 0) lines.push('No volumes found.');
  else {
    const rows = scan.volumes.map((v) => [
      v.id,
      v.modality || '-',
      v.size.join('×'),
      v.spacingMm.map((s) => num(s)).join('×') + ' mm',
      orientationCode(v.direction),
      v.dataType,
      String(v.files.length),
      v.description || '-',
    ]);
    const head = ['id', 'mod', 'size', 'spacing', 'orient', 'type', 'files', 'description'];
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
    const fmtRow = (r: string[]) => r.map((x, c) => (c === r.length - 1 ? x : x.padEnd(widths[c]!))).join('  ');
    lines.push(fmtRow(head), ...rows.map(fmtRow));
    for (const v of scan.volumes) {
      lines.push('', `${v.id}: ${v.source}`, `  origin ${v.originMm.map((x) => num(x)).join(', ')} mm (LPS)`);
      for (const w of v.warnings) lines.push(`  warning: ${w}`);
    }
  }
  if (scan.skipped.length) {
    lines.push('', `Skipped ${scan.skipped.length} file(s):`);
    const byReason = new Map<string, string[]>();
    for (const s of scan.skipped) {
      const l = byReason.get(s.reason) ?? [];
      l.push(s.path);
      byReason.set(s.reason, l);
    }
    for (const [reason, paths] of byReason) {
      lines.push(`  ${reason} (${paths.length}):`);
      for (const p of paths.slice(0, 5)) lines.push(`    ${p}`);
      if (paths.length > 5) lines.push(`    … and ${paths.length - 5} more`);
    }
  }
  return lines.join('\n') + '\n';
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { positionals, flags } = parseArgs(argv, { json: { type: 'boolean' } });
  if (positionals.length !== 1) throw new DelineateError('USAGE', positionals.length === 0 ? 'missing <file-or-folder>' : `expected one path, got ${positionals.length}`);
  const progress = progressPrinter(io);
  let scan: ScanResult;
  try {
    scan = await scanPath(positionals[0]!, { signal: io.signal, onProgress: progress.onProgress });
  } finally {
    progress.done();
  }
  if (flags.json) io.stdout(JSON.stringify(scanJson(scan)) + '\n');
  else io.stdout(table(scan));
  if (scan.volumes.length === 0) {
    // Still a complete answer on stdout, but a failure for scripts and people: nothing there can be opened.
    io.stderr(`delineate info: ${positionals[0]}: no image volumes found${scan.skipped.length ? ` (${scan.skipped.length} file(s) skipped, see above)` : ' (no files)'}\n`);
    return 1;
  }
  return 0;
}
