/** Where a CLI command writes: injectable so tests can capture output. */
export interface CliIo {
  /** Machine-readable output (JSON) and usage text. */
  stdout(text: string): void;
  /** Progress, warnings and error messages. */
  stderr(text: string): void;
  /** Whether stderr is a terminal (draw a progress bar) or a pipe/file (print plain lines). */
  isTTY: boolean;
  /** Fires on SIGINT: commands pass it to core as their AbortSignal. */
  signal: AbortSignal;
}

export function defaultIo(): CliIo {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    isTTY: Boolean(process.stderr.isTTY),
    signal: controller.signal,
  };
}
