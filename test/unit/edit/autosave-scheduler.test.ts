/** When the renderer autosaves (main/common/autosave.ts): debounce after the last edit, every N edits, no overlap. */
import { describe, expect, it } from 'vitest';
import { AutosaveScheduler, type SchedulerClock } from '../../../main/common/autosave';

/** A manual clock: timers fire only when advanced. */
function manualClock() {
  let now = 0;
  let next = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const clock: SchedulerClock = {
    setTimeout: (fn, ms) => {
      const id = next++;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (h) => void timers.delete(h as number),
  };
  const advance = (ms: number) => {
    now += ms;
    for (const [id, t] of [...timers].sort((a, b) => a[1].at - b[1].at))
      if (t.at <= now) {
        timers.delete(id);
        t.fn();
      }
  };
  return { clock, advance, pending: () => timers.size };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('AutosaveScheduler', () => {
  it('flushes once, delayMs after the last of several edits', async () => {
    const { clock, advance } = manualClock();
    let flushes = 0;
    const s = new AutosaveScheduler(async () => void flushes++, () => {}, { delayMs: 30_000, everyEdits: 20, clock });
    s.noteEdit();
    advance(20_000);
    s.noteEdit(); // restarts the wait
    advance(20_000);
    expect(flushes).toBe(0);
    expect(s.pendingEdits).toBe(2);
    advance(10_000);
    expect(flushes).toBe(1);
    expect(s.pendingEdits).toBe(0);
    await tick();
    advance(60_000);
    expect(flushes).toBe(1); // nothing new: no flush
  });

  it('flushes at once on every Nth edit', async () => {
    const { clock } = manualClock();
    let flushes = 0;
    const s = new AutosaveScheduler(async () => void flushes++, () => {}, { delayMs: 30_000, everyEdits: 3, clock });
    s.noteEdit();
    s.noteEdit();
    expect(flushes).toBe(0);
    s.noteEdit();
    expect(flushes).toBe(1);
    expect(s.scheduled).toBe(false);
  });

  it('never runs two flushes at once; edits during a flush get one more flush after it', async () => {
    const { clock } = manualClock();
    let running = 0;
    let maxRunning = 0;
    let flushes = 0;
    let release: (() => void) | undefined;
    const s = new AutosaveScheduler(
      () =>
        new Promise<void>((ok) => {
          running++;
          flushes++;
          maxRunning = Math.max(maxRunning, running);
          release = () => {
            running--;
            ok();
          };
        }),
      () => {},
      { everyEdits: 1, clock },
    );
    s.noteEdit(); // flush 1 starts
    s.noteEdit(); // queued
    s.noteEdit(); // still one queued
    expect(flushes).toBe(1);
    release!();
    await tick();
    await tick();
    expect(flushes).toBe(2);
    release!();
    await tick();
    expect(maxRunning).toBe(1);
    expect(flushes).toBe(2);
  });

  it('reports flush errors and keeps working; cancel forgets pending edits', async () => {
    const { clock, advance, pending } = manualClock();
    const errors: unknown[] = [];
    let fail = true;
    let flushes = 0;
    const s = new AutosaveScheduler(
      async () => {
        flushes++;
        if (fail) throw new Error('disk full');
      },
      (e) => errors.push(e),
      { delayMs: 1000, everyEdits: 100, clock },
    );
    s.noteEdit();
    advance(1000);
    await tick();
    expect(errors).toHaveLength(1);
    fail = false;
    s.noteEdit();
    s.cancel();
    expect(pending()).toBe(0);
    advance(5000);
    expect(flushes).toBe(1);
    s.noteEdit();
    await s.flushNow();
    expect(flushes).toBe(2);
    expect(errors).toHaveLength(1);
  });
});
