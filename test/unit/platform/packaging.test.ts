/**
 * The electron-builder configuration (static part of build/check-packaging.mjs): required fields, fuses, targets,
 * icons that are real PNG/ICO/ICNS files, and that the checks catch broken configurations. The offline pack
 * (`electron-builder --linux dir` with a stub Electron, ≈30 s) runs in `npm run package:check`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- plain ESM script without type declarations
import * as pack from '../../../build/check-packaging.mjs';

interface PackModule {
  PROJECT_ROOT: string;
  loadConfig(): Record<string, unknown> & { linux: { icon: string }; win: { icon: string }; mac: { icon: string } };
  validateConfig(config: unknown, root?: string): string[];
  pngSize(bytes: Buffer): [number, number];
  icoEntries(bytes: Buffer): { width: number; height: number; png: boolean }[];
  icnsTypes(bytes: Buffer): string[];
}
const p = pack as PackModule;

describe('electron-builder configuration', () => {
  it('passes the static checks', () => {
    expect(p.validateConfig(p.loadConfig())).toEqual([]);
  });

  it('has real icons', () => {
    const config = p.loadConfig();
    const read = (rel: string) => readFileSync(join(p.PROJECT_ROOT, rel));
    expect(p.pngSize(read(config.linux.icon))).toEqual([512, 512]);
    expect(p.icoEntries(read(config.win.icon))).toEqual([{ width: 256, height: 256, png: true }]);
    expect(p.icnsTypes(read(config.mac.icon))).toEqual(['ic08', 'ic09', 'ic10']);
  });

  it('reports what is wrong with a broken configuration', () => {
    const broken = structuredClone(p.loadConfig()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    broken.publish = { provider: 'github' };
    broken.asarUnpack = ['**/*.node'];
    broken.electronFuses.runAsNode = true;
    broken.linux.target = ['AppImage'];
    broken.mac.icon = 'resources/icon.png';
    broken.extraResources = [{ from: 'no-such-folder', to: 'native-models' }];
    const problems = p.validateConfig(broken);
    expect(problems).toEqual(
      expect.arrayContaining([
        'publish must be null (no network publishing)',
        'asarUnpack must unpack onnxruntime-node/bin (native binaries cannot load from an asar)',
        'asarUnpack must unpack itk-wasm wasm files',
        'electronFuses.runAsNode must be false',
        'linux.target must be AppImage and deb',
        'icon resources/icon.png: not an ICNS',
        'extraResources: no-such-folder does not exist',
      ]),
    );
  });
});
