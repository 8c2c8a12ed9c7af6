/**
 * Deterministic sharding of a cohort over machines (`--shard i/n`, Slurm array jobs, Kubernetes indexed Jobs).
 *
 * Rule: cases are sorted by id (code-unit order, {@link compareIds}); shard `i` of `n` takes the cases whose
 * position in that order is congruent to `i` modulo `n` (round robin: positions i, i + n, i + 2n, …). Shards are
 * 0-based (Slurm `--array=0-<n-1>`, Kubernetes `JOB_COMPLETION_INDEX`). Every case is in exactly one shard, shard
 * sizes differ by at most one, and the split depends only on the set of case ids — not on file order, locale or
 * machine.
 */
import { DelineateError } from '../../common/errors';
import { compareIds } from './cases';

/** A shard: 0-based index and shard count. */
export interface Shard {
  index: number;
  count: number;
}

/** Parse `i/n` (0 ≤ i < n, integers). USAGE error naming `--shard` otherwise. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new DelineateError('USAGE', `--shard must be i/n (e.g. 0/4), got '${text}'`, { subject: '--shard' });
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count)
    throw new DelineateError('USAGE', `--shard ${text}: need 0 ≤ i < n (shards are 0-based, as SLURM_ARRAY_TASK_ID from --array=0-${Math.max(0, count - 1)} and JOB_COMPLETION_INDEX)`, {
      subject: '--shard',
    });
  return { index, count };
}

/** The items of shard `s` (see the module comment for the rule). Input order does not matter. */
export function selectShard<T extends { id: string }>(items: readonly T[], s: Shard): T[] {
  return [...items].sort((a, b) => compareIds(a.id, b.id)).filter((_, k) => k % s.count === s.index);
}
