/**
 * When the workstation autosaves a segmentation (issue 5, "Autosave of edits and recovery after a crash"): a pure
 * scheduler, shared by the renderer (which holds the labels and decides when to send them) and tests.
 *
 * Rule: an autosave runs {@link AUTOSAVE_DELAY_MS} after the last edit (a debounce: each edit restarts the wait),
 * and at once when {@link AUTOSAVE_EVERY_EDITS} edits have accumulated since the last autosave (so a long session of
 * continuous editing is never more than that many edits behind). Flushes never overlap: an edit made while a flush
 * is in flight schedules another one after it. The files are written by the compute side (main/compute/autosave.ts)
 * under `<userDataDir>/autosave/`.
 */

/** Wait after the last edit before autosaving, ms. */
export const AUTOSAVE_DELAY_MS = 30_000;
/** Autosave at once after this many edits since the last autosave. */
export const AUTOSAVE_EVERY_EDITS = 20;

/** Timer functions (injected in tests). */
export interface SchedulerClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: SchedulerClock = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>),
};

export interface AutosaveSchedulerOptions {
  delayMs?: number;
  everyEdits?: number;
  clock?: SchedulerClock;
}

/**
 * Debounced, edit-counting trigger for one `flush` function. `flush` is called with no arguments; it should take
 * its snapshot of the labels synchronously before its first `await` (so a flush started just before the labels are
 * replaced saves the old ones). Errors of `flush` go to `onError`; the scheduler keeps working.
 */
export class AutosaveScheduler {
  /** Edits since the last flush started. */
  private edits = 0;
  private timer: unknown = undefined;
  private inFlight: Promise<void> | null = null;
  private again = false;
  private readonly delayMs: number;
  private readonly everyEdits: number;
  private readonly clock: SchedulerClock;

  constructor(
    private readonly flush: () => Promise<void>,
    private readonly onError: (e: unknown) => void,
    options: AutosaveSchedulerOptions = {},
  ) {
    this.delayMs = options.delayMs ?? AUTOSAVE_DELAY_MS;
    this.everyEdits = Math.max(1, options.everyEdits ?? AUTOSAVE_EVERY_EDITS);
    this.clock = options.clock ?? realClock;
  }

  /** Edits not yet covered by a flush. */
  get pendingEdits(): number {
    return this.edits;
  }

  /** Whether a flush is waiting for its timer. */
  get scheduled(): boolean {
    return this.timer !== undefined;
  }

  /** One edit happened: restart the delay, or flush now when enough edits have piled up. */
  noteEdit(): void {
    this.edits++;
    this.clearTimer();
    if (this.edits >= this.everyEdits) void this.flushNow();
    else this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.flushNow();
    }, this.delayMs);
  }

  /** Forget pending edits (they were saved explicitly, or the segmentation was discarded). */
  cancel(): void {
    this.clearTimer();
    this.edits = 0;
  }

  /**
   * Flush now (if there are pending edits). Resolves when this flush — and one queued behind a flush already in
   * flight — has finished. `flush` is called synchronously when nothing is in flight.
   */
  flushNow(): Promise<void> {
    this.clearTimer();
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    if (this.edits === 0) return Promise.resolve();
    this.edits = 0;
    let started: Promise<void>;
    try {
      started = this.flush();
    } catch (e) {
      started = Promise.reject(e);
    }
    const run = started
      .catch((e: unknown) => this.onError(e))
      .then(() => {
        this.inFlight = null;
        if (this.again) {
          this.again = false;
          return this.flushNow();
        }
      });
    this.inFlight = run;
    return run;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
