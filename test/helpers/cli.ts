/** A CLI io that records what a command writes (tests run commands in-process through their `run(argv, io)`). */
import type { CliIo } from '../../main/cli/io';

/** Not a terminal, never aborted; `out`/`err` accumulate stdout/stderr. */
export function captureIo(): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
    isTTY: false,
    signal: new AbortController().signal,
  };
  return io;
}
