/**
 * ONNX Runtime sessions and execution-provider choice (`--device auto|cpu|cuda|webgpu|dml|coreml`).
 *
 * `auto` takes the best provider that is actually present: CUDA where onnxruntime-node's CUDA libraries were
 * installed (`npm install --onnxruntime-node-install=cuda12`), DirectML on Windows, CoreML on macOS, WebGPU where
 * a hardware Vulkan/Metal/D3D adapter is likely (a software lavapipe ICD alone does not count: it is 15–20×
 * slower than the CPU provider), else the CPU — saying why on the log. An explicitly requested provider that
 * fails to start is an error, never a silent fallback.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, platform } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { DelineateError } from '../../common/errors';

export type DeviceName = 'auto' | 'cpu' | 'cuda' | 'webgpu' | 'dml' | 'coreml';
export const DEVICE_NAMES: readonly DeviceName[] = ['auto', 'cpu', 'cuda', 'webgpu', 'dml', 'coreml'];

/** Folder of onnxruntime-node's native binding (where optional provider libraries land). */
function bindingDir(): string | undefined {
  try {
    const req = createRequire(import.meta.url);
    const pkg = dirname(req.resolve('onnxruntime-node/package.json'));
    const arch = process.arch;
    const dirs = readdirSync(join(pkg, 'bin')).map((napi) => join(pkg, 'bin', napi, platform(), arch));
    return dirs.find((d) => existsSync(d));
  } catch {
    return undefined;
  }
}

/** Whether a hardware (non-lavapipe) Vulkan ICD is configured on Linux. */
function hardwareVulkanIcd(): boolean {
  const files: string[] = [];
  const env = process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES;
  if (env) files.push(...env.split(':'));
  for (const d of ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'])
    if (existsSync(d)) for (const f of readdirSync(d)) files.push(join(d, f));
  return files.some((f) => f.endsWith('.json') && !/lvp|lavapipe|swiftshader/i.test(f));
}

/** Providers onnxruntime-node reports, with whether each one's libraries are present here. */
export function availableDevices(): { name: string; present: boolean }[] {
  const dir = bindingDir();
  return ort.listSupportedBackends().map((b) => {
    let present = b.bundled;
    if (!b.bundled && dir) present = readdirSync(dir).some((f) => f.includes(`providers_${b.name}`));
    return { name: b.name, present };
  });
}

/** Resolve `auto` (and check an explicit choice is listed). `log` receives the fallback explanation. */
export function resolveDevice(requested: DeviceName, log: (line: string) => void = () => {}): Exclude<DeviceName, 'auto'> {
  const avail = availableDevices();
  const has = (n: string): boolean => avail.some((a) => a.name === n && a.present);
  if (requested !== 'auto') {
    if (requested !== 'cpu' && !has(requested))
      throw new DelineateError(
        'UNSUPPORTED',
        `Execution provider '${requested}' is not available in this onnxruntime-node build (present: ${avail.filter((a) => a.present).map((a) => a.name).join(', ')})` +
          (requested === 'cuda' ? '. Install the CUDA 12 libraries with `npm install --onnxruntime-node-install=cuda12` (Linux x64, NVIDIA driver + CUDA 12 + cuDNN 9).' : ''),
        { subject: '--device' },
      );
    return requested;
  }
  if (has('cuda')) return 'cuda';
  if (platform() === 'win32' && has('dml')) return 'dml';
  if (platform() === 'darwin' && has('coreml')) return 'coreml';
  if (has('webgpu') && (platform() !== 'linux' || hardwareVulkanIcd())) return 'webgpu';
  log(
    `device auto: no GPU provider present (providers: ${avail.map((a) => `${a.name}${a.present ? '' : ' (not installed)'}`).join(', ')}` +
      `${has('webgpu') ? '; webgpu has no hardware adapter here' : ''}); running on the CPU with ${availableParallelism()} threads`,
  );
  return 'cpu';
}

export interface SessionSettings {
  device: Exclude<DeviceName, 'auto'>;
  /** Intra-op threads for the CPU provider (default: all cores). */
  threads?: number;
  /**
   * Keep ONNX Runtime's CPU memory arena (default true: fastest). Off for models whose per-tile output is huge
   * (e.g. 100 classes × 128³ = 0.8 GB), where the arena would keep a second copy of every output alive.
   */
  memArena?: boolean;
}

/**
 * Create a session with the settings measured fastest here for 3-D conv nets on the CPU: full graph
 * optimisation (Conv+Add/Relu fusions, constant folding), sequential execution, memory pattern and arena on,
 * intra-op threads = cores, and no spin-waiting of the intra-op threads: a U-Net has a few dozen ops of
 * milliseconds each, so waking a sleeping thread costs nothing measurable, while spinning threads take CPU from
 * the thread doing the work whenever anything else runs (measured on a shared 2-core machine, 2 threads, per
 * forward pass: heavy load 898 → 680 ms CPU and 8.4 → 6.1 s wall; moderate load 953 → 882 ms CPU, wall equal
 * within noise; outputs identical — see test/bench/inference.bench.ts). GPU providers keep the CPU as fallback for unsupported nodes. `model` is a file path
 * or the bytes of a (rewritten) model; `name` names it in errors.
 */
export async function createSession(model: string | Uint8Array, s: SessionSettings, name: string = typeof model === 'string' ? model : 'model'): Promise<ort.InferenceSession> {
  const providers: ort.InferenceSession.ExecutionProviderConfig[] =
    s.device === 'cpu' ? ['cpu'] : s.device === 'webgpu' ? [{ name: 'webgpu' }, 'cpu'] : [s.device, 'cpu'];
  try {
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: providers,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: s.threads ?? availableParallelism(),
      interOpNumThreads: 1,
      enableMemPattern: s.memArena !== false,
      enableCpuMemArena: s.memArena !== false,
      ...(s.device === 'cpu' ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } : {}),
    };
    return await (typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options));
  } catch (e) {
    throw new DelineateError('MODEL', `${name}: could not start an ONNX Runtime session on '${s.device}': ${(e as Error).message}`, { subject: name, cause: e });
  }
}

export { ort };
