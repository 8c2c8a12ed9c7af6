/**
 * A loaded network kept between `segment()` calls: the in-process ONNX Runtime sessions or the worker pool of the
 * last run, for {@link WARM_NETWORK_IDLE_MS} after it, so that the next case with the same model, device and
 * settings — the app's next series, `batch`'s next case, the API server's next job — skips reading and rewriting
 * the fold files, creating the sessions and their first, slower pass (bench net, 9 MB: 0.1–0.3 s per run; a
 * 123 MB nnU-Net fold: ≈ 1 s; a GPU provider's session: seconds).
 *
 * One network at most (the last one used), so memory stays that of one model. Whoever takes it owns it until it
 * gives it back with {@link keepWarmNetwork} or releases it; a run that fails or is cancelled releases what it
 * took. While kept, nothing here holds the process open: the idle timer is unref'd and a pool's workers are
 * unref'd (see NetworkPool.setIdle), so a CLI run still exits at once.
 */

/** How long a kept network waits for the next run before it is released. */
export const WARM_NETWORK_IDLE_MS = 60_000;

/** A network to keep: identified by `key` (fold file identities, device and session settings, pool shape). */
export interface WarmNetwork<T = unknown> {
  key: string;
  value: T;
  /** Release sessions / stop workers. Called once. */
  release: () => Promise<void>;
  /** Called when the network is put away (true) and taken again (false): let the process exit while idle. */
  setIdle?: (idle: boolean) => void;
  /** False when the network can no longer run (e.g. a pool whose worker died while it waited). */
  usable?: () => boolean;
}

let kept: { net: WarmNetwork; timer: ReturnType<typeof setTimeout> } | undefined;

/** Take the kept network if its key is `key` (it is then the caller's); undefined otherwise (nothing changes). */
export function takeWarmNetwork<T>(key: string): WarmNetwork<T> | undefined {
  if (!kept || kept.net.key !== key) return undefined;
  const { net, timer } = kept;
  kept = undefined;
  clearTimeout(timer);
  if (net.usable && !net.usable()) {
    void net.release().catch(() => {});
    return undefined;
  }
  net.setIdle?.(false);
  return net as WarmNetwork<T>;
}

/** Keep `net` for the next run (releasing the network kept before, if any) for `idleMs`. */
export async function keepWarmNetwork(net: WarmNetwork, idleMs: number = WARM_NETWORK_IDLE_MS): Promise<void> {
  net.setIdle?.(true);
  const timer = setTimeout(() => {
    if (kept?.net === net) {
      kept = undefined;
      void net.release().catch(() => {});
    }
  }, idleMs);
  timer.unref?.();
  // Swapped before anything is awaited, so that two runs ending at once cannot both think they are the one kept.
  const previous = kept;
  kept = { net, timer };
  if (previous) {
    clearTimeout(previous.timer);
    await previous.net.release();
  }
}

/** Release the kept network now (before loading a different model, on shutdown, in tests). */
export async function releaseWarmNetwork(): Promise<void> {
  if (!kept) return;
  const { net, timer } = kept;
  kept = undefined;
  clearTimeout(timer);
  await net.release();
}

/** The key of the network currently kept (for logs and tests), or undefined. */
export function warmNetworkKey(): string | undefined {
  return kept?.net.key;
}
