/**
 * itk-wasm prints to the process's stdout when a pipeline fails ("Exception while running pipeline:", the C++
 * library's own messages) and some decoders print warnings while succeeding. stdout belongs to the CLI's JSON, so
 * every itk-wasm call runs inside {@link quietly}: output written meanwhile is captured, not printed, and the
 * meaningful lines are offered for error messages.
 */

let depth = 0;
let captured: string[] = [];
let originalStdout: typeof process.stdout.write | undefined;
let originalStderr: typeof process.stderr.write | undefined;

const NOISE = [/^Exception while running pipeline:?$/, /^stdout:\s*$/, /^stderr:\s*$/, /^Build module in Debug mode/, /^exception:\s*$/];

/** Meaningful lines of captured output (noise from the itk-wasm runner removed). */
function meaningful(lines: string[]): string {
  const out: string[] = [];
  for (const raw of lines.join('').split('\n')) {
    const line = raw.replace(/^(stdout|stderr):\s*/, '').trim();
    if (!line || NOISE.some((r) => r.test(line)) || out.includes(line)) continue;
    out.push(line);
  }
  return out.join(' ');
}

/**
 * Run an itk-wasm call with stdout/stderr captured. Resolves with the call's result and the meaningful text it
 * printed; on failure rejects with the original error whose `printed` property holds that text.
 */
export async function quietly<T>(fn: () => Promise<T>): Promise<{ result: T; printed: string }> {
  if (depth++ === 0) {
    captured = [];
    originalStdout = process.stdout.write;
    originalStderr = process.stderr.write;
    const capture = ((chunk: unknown, ...rest: unknown[]) => {
      captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }) as typeof process.stdout.write;
    process.stdout.write = capture;
    process.stderr.write = capture;
  }
  const start = captured.length;
  try {
    const result = await fn();
    return { result, printed: meaningful(captured.slice(start)) };
  } catch (e) {
    const printed = meaningful(captured.slice(start));
    if (e && typeof e === 'object') (e as { printed?: string }).printed = printed;
    throw e;
  } finally {
    if (--depth === 0) {
      process.stdout.write = originalStdout!;
      process.stderr.write = originalStderr!;
      captured = [];
    }
  }
}

/** A short description of an itk-wasm failure: the library's printed message, else the error's own text. */
export function itkErrorDetail(e: unknown): string {
  const printed = (e as { printed?: string } | undefined)?.printed;
  if (printed) return printed.slice(0, 300);
  const msg = e instanceof Error ? e.message : String(e);
  // A bare number is an Emscripten exception pointer: meaningless to a person.
  if (/^\d+$/.test(msg.trim())) return 'the file is truncated or corrupt; the reader gave no detail';
  return msg.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 3).join(' ').slice(0, 300);
}
