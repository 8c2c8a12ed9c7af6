/**
 * `npm run package:check` (= node build/check-packaging.mjs [--static]): validates the electron-builder
 * configuration (build/electron-builder.json) and, unless --static, packs the app offline with
 * `electron-builder --linux dir` against a stub Electron distribution (there is no Electron binary here, see
 * TOOLCHAIN-NOTES) and checks what went into resources/app.asar, app.asar.unpacked and resources/native-models.
 * The pack needs the built app (`npm run build` first). Prints each problem; exits 1 if there is any.
 *
 * The stub cannot carry Electron's fuse sentinel, so the pack runs with a copy of the configuration without
 * `electronFuses` (the fuses are checked statically instead) and with `npmRebuild: false` (no native module of
 * ours needs a rebuild: onnxruntime-node ships N-API binaries).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CONFIG_PATH = join(PROJECT_ROOT, 'build', 'electron-builder.json');

export function loadConfig(path = CONFIG_PATH) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Width and height of a PNG (throws if it is not one). */
export function pngSize(bytes) {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || sig.some((b, i) => bytes[i] !== b) || bytes.toString('ascii', 12, 16) !== 'IHDR') throw new Error('not a PNG');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

/** Image entries of an ICO: [{width, height, png}] (0 means 256). */
export function icoEntries(bytes) {
  if (bytes.length < 6 || bytes.readUInt16LE(0) !== 0 || bytes.readUInt16LE(2) !== 1) throw new Error('not an ICO');
  const n = bytes.readUInt16LE(4);
  return Array.from({ length: n }, (_, i) => {
    const o = 6 + 16 * i;
    const size = bytes.readUInt32LE(o + 8);
    const offset = bytes.readUInt32LE(o + 12);
    return { width: bytes[o] || 256, height: bytes[o + 1] || 256, png: offset + size <= bytes.length && bytes.readUInt32BE(offset) === 0x89504e47 };
  });
}

/** Entry types of an ICNS file (e.g. ['ic08','ic09']); throws if it is not one. */
export function icnsTypes(bytes) {
  if (bytes.toString('ascii', 0, 4) !== 'icns' || bytes.readUInt32BE(4) !== bytes.length) throw new Error('not an ICNS');
  const types = [];
  for (let o = 8; o + 8 <= bytes.length; ) {
    const len = bytes.readUInt32BE(o + 4);
    if (len < 8 || o + len > bytes.length) throw new Error('broken ICNS entry');
    types.push(bytes.toString('ascii', o, o + 4));
    o += len;
  }
  return types;
}

const has = (list, item) => Array.isArray(list) && list.includes(item);

/**
 * Static checks of the configuration and the files it names. Returns a list of problems (empty = fine).
 * @param {any} config parsed build/electron-builder.json
 */
export function validateConfig(config, root = PROJECT_ROOT) {
  const problems = [];
  const need = (cond, msg) => {
    if (!cond) problems.push(msg);
  };
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

  need(typeof config.appId === 'string' && /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+$/i.test(config.appId), 'appId must be a reverse-DNS id');
  need(config.productName === 'Delineate', 'productName must be Delineate');
  need(config.publish === null, 'publish must be null (no network publishing)');
  need(config.asar === true, 'asar must be true');
  need(config.npmRebuild === false, 'npmRebuild must be false (onnxruntime-node ships N-API binaries; a rebuild would need the network)');
  need(config.directories?.output === 'dist', 'directories.output must be dist');
  need(config.directories?.buildResources === 'resources', 'directories.buildResources must be resources');
  need(has(config.files, 'out/**/*'), "files must include 'out/**/*'");
  need(has(config.files, 'package.json'), "files must include 'package.json'");
  need(pkg.main === 'out/main/index.js', 'package.json main must be out/main/index.js (the built shell)');
  need(typeof pkg.author?.email === 'string' && pkg.author.email.includes('@'), 'package.json author.email is required by the deb target');
  need(typeof pkg.description === 'string' && pkg.description.length > 0, 'package.json description is required by the deb target');

  const unpack = config.asarUnpack ?? [];
  need(unpack.some((p) => p.includes('onnxruntime-node/bin')), 'asarUnpack must unpack onnxruntime-node/bin (native binaries cannot load from an asar)');
  need(unpack.includes('**/*.node'), "asarUnpack must include '**/*.node'");
  need(unpack.some((p) => p.includes('node_modules/itk-wasm/')), 'asarUnpack must unpack itk-wasm wasm files');
  need(unpack.some((p) => p.includes('node_modules/@itk-wasm/')), 'asarUnpack must unpack @itk-wasm pipelines');

  const models = (config.extraResources ?? []).find((r) => r.to === 'native-models');
  need(models !== undefined, 'extraResources must copy native-models');
  if (models) need(existsSync(join(root, models.from)), `extraResources: ${models.from} does not exist`);

  const fuses = config.electronFuses ?? {};
  need(fuses.runAsNode === false, 'electronFuses.runAsNode must be false');
  need(fuses.enableNodeOptionsEnvironmentVariable === false, 'electronFuses.enableNodeOptionsEnvironmentVariable must be false');
  need(fuses.enableNodeCliInspectArguments === false, 'electronFuses.enableNodeCliInspectArguments must be false');
  need(fuses.onlyLoadAppFromAsar === true, 'electronFuses.onlyLoadAppFromAsar must be true');
  need(fuses.enableEmbeddedAsarIntegrityValidation === true, 'electronFuses.enableEmbeddedAsarIntegrityValidation must be true');
  need(fuses.grantFileProtocolExtraPrivileges === false, 'electronFuses.grantFileProtocolExtraPrivileges must be false');

  need(has(config.linux?.target, 'AppImage') && has(config.linux?.target, 'deb'), 'linux.target must be AppImage and deb');
  need(has(config.win?.target, 'nsis'), 'win.target must include nsis');
  need(has(config.mac?.target, 'dmg'), 'mac.target must include dmg');

  const icon = (rel, check) => {
    const p = rel && join(root, rel);
    if (!p || !existsSync(p)) return problems.push(`icon ${rel ?? '(not set)'} does not exist`);
    try {
      const msg = check(readFileSync(p));
      if (msg) problems.push(`icon ${rel}: ${msg}`);
    } catch (e) {
      problems.push(`icon ${rel}: ${e.message}`);
    }
  };
  icon(config.linux?.icon, (b) => {
    const [w, h] = pngSize(b);
    return w === h && w >= 512 ? null : `needs a square PNG of at least 512 px, got ${w}×${h}`;
  });
  icon(config.win?.icon, (b) => (icoEntries(b).some((e) => e.width === 256 && e.height === 256) ? null : 'needs a 256×256 image'));
  icon(config.mac?.icon, (b) => (icnsTypes(b).some((t) => t === 'ic09' || t === 'ic10') ? null : 'needs a 512 px (ic09) or 1024 px (ic10) entry'));
  return problems;
}

/**
 * List an asar archive: file paths (with leading '/') and which are unpacked. Reads the archive header directly
 * (format: UInt32 4, UInt32 header pickle size, then a pickle holding the JSON index).
 */
export function listAsar(path) {
  const buf = readFileSync(path);
  const jsonLength = buf.readUInt32LE(12);
  const index = JSON.parse(buf.toString('utf8', 16, 16 + jsonLength));
  const files = [];
  const walk = (node, prefix) => {
    for (const [name, entry] of Object.entries(node.files ?? {})) {
      const p = `${prefix}/${name}`;
      if (entry.files) walk(entry, p);
      else files.push({ path: p, unpacked: entry.unpacked === true, size: entry.size ?? 0 });
    }
  };
  walk(index, '');
  return files;
}

function walkFiles(dir, prefix = '') {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = `${prefix}/${e.name}`;
    if (e.isDirectory()) out.push(...walkFiles(join(dir, e.name), rel));
    else out.push(rel);
  }
  return out;
}

/**
 * Pack with `electron-builder --linux dir` against a stub Electron (offline) into a temporary folder.
 * @returns {{ appOutDir: string, workDir: string, log: string }}
 */
export function packLinuxDir(root = PROJECT_ROOT) {
  const workDir = mkdtempSync(join(tmpdir(), 'delineate-pack-'));
  const stub = join(workDir, 'electron-stub');
  const out = join(workDir, 'dist');
  // A stub Electron distribution: an executable named electron, Electron's LICENSE and its version.
  const electronPkg = JSON.parse(readFileSync(join(root, 'node_modules', 'electron', 'package.json'), 'utf8'));
  spawnSync('mkdir', ['-p', stub]);
  writeFileSync(join(stub, 'electron'), '#!/bin/sh\necho "stub Electron for packaging checks"\nexit 1\n');
  chmodSync(join(stub, 'electron'), 0o755);
  copyFileSync(join(root, 'node_modules', 'electron', 'LICENSE'), join(stub, 'LICENSE'));
  writeFileSync(join(stub, 'version'), electronPkg.version);
  const config = loadConfig();
  delete config.electronFuses;
  config.npmRebuild = false;
  config.electronDist = stub;
  config.directories = { ...config.directories, output: out };
  const configPath = join(workDir, 'electron-builder.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const cli = join(root, 'node_modules', 'electron-builder', 'cli.js');
  const r = spawnSync(process.execPath, [cli, '--linux', 'dir', '--config', configPath, '--projectDir', root], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ELECTRON_BUILDER_OFFLINE: 'true', CSC_IDENTITY_AUTO_DISCOVERY: 'false' },
    timeout: 600_000,
  });
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`electron-builder --linux dir failed (exit ${r.status ?? r.signal}):\n${log}`);
  return { appOutDir: join(out, 'linux-unpacked'), workDir, log };
}

/**
 * What must and must not be in the packed app. Returns {problems, summary}.
 * @param {string} appOutDir the linux-unpacked folder
 */
export function checkPackedApp(appOutDir, root = PROJECT_ROOT) {
  const problems = [];
  const resources = join(appOutDir, 'resources');
  const asarPath = join(resources, 'app.asar');
  if (!existsSync(asarPath)) return { problems: [`no ${asarPath}`], summary: {} };
  const files = listAsar(asarPath);
  const paths = new Set(files.map((f) => f.path));
  const unpackedDir = join(resources, 'app.asar.unpacked');
  const unpacked = existsSync(unpackedDir) ? walkFiles(unpackedDir) : [];

  for (const p of ['/package.json', '/out/main/index.js', '/out/main/compute.js', '/out/main/tile-worker.js', '/out/preload/index.cjs', '/out/renderer/index.html', '/node_modules/onnxruntime-node/package.json', '/node_modules/itk-wasm/package.json', '/node_modules/@itk-wasm/image-io/package.json', '/node_modules/@itk-wasm/dicom/package.json'])
    if (!paths.has(p)) problems.push(`app.asar lacks ${p}`);
  const forbidden = [
    [/^\/main\//, 'TypeScript sources (main/)'],
    [/^\/renderer\//, 'renderer sources'],
    [/^\/test\//, 'tests'],
    [/^\/test-results\//, 'test results'],
    [/^\/native-models\//, 'native-models (they go to resources/, outside the asar)'],
    [/^\/\.ci\//, 'CI scripts'],
    [/^\/build\//, 'build configuration'],
    [/^\/node_modules\/(electron|electron-builder|electron-vite|vitest|vite|typescript|eslint|playwright-core|svelte|tsx)\//, 'development dependencies'],
    [/\.map$/, 'source maps'],
  ];
  for (const [re, what] of forbidden) {
    const hit = files.find((f) => re.test(f.path));
    if (hit) problems.push(`app.asar contains ${what}: ${hit.path}`);
  }
  const ortOther = unpacked.find((p) => /^\/node_modules\/onnxruntime-node\/bin\/napi-v\d+\//.test(p) && !/\/napi-v\d+\/linux\/x64\//.test(p));
  if (ortOther) problems.push(`the Linux x64 package carries onnxruntime-node binaries of another platform or architecture: ${ortOther}`);
  const ortLinux = unpacked.filter((p) => /^\/node_modules\/onnxruntime-node\/bin\/napi-v\d+\/linux\/x64\/.*\.node$/.test(p));
  if (ortLinux.length === 0) problems.push('app.asar.unpacked lacks onnxruntime-node linux/x64 .node binaries');
  if (!unpacked.some((p) => /^\/node_modules\/onnxruntime-node\/bin\/napi-v\d+\/linux\/x64\/libonnxruntime\.so/.test(p))) problems.push('app.asar.unpacked lacks libonnxruntime.so');
  const wasm = unpacked.filter((p) => /^\/node_modules\/@itk-wasm\/[^/]+\/dist\/pipelines\/.*\.wasm(\.zst)?$/.test(p));
  if (!wasm.some((p) => p.startsWith('/node_modules/@itk-wasm/image-io/'))) problems.push('app.asar.unpacked lacks the @itk-wasm/image-io pipelines');
  if (!wasm.some((p) => p.startsWith('/node_modules/@itk-wasm/dicom/'))) problems.push('app.asar.unpacked lacks the @itk-wasm/dicom pipelines');
  const stillPacked = files.filter((f) => !f.unpacked && (/\.node$/.test(f.path) || /^\/node_modules\/(@itk-wasm\/[^/]+|itk-wasm)\/.*\.wasm(\.zst)?$/.test(f.path)));
  if (stillPacked.length > 0) problems.push(`binaries left inside the asar: ${stillPacked.slice(0, 5).map((f) => f.path).join(', ')}`);

  const models = join(resources, 'native-models');
  const modelFiles = existsSync(models) ? walkFiles(models) : [];
  const expectedModels = existsSync(join(root, 'native-models'))
    ? readdirSync(join(root, 'native-models'), { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'bridge').map((e) => e.name)
    : [];
  for (const m of expectedModels) if (!modelFiles.some((p) => p.startsWith(`/${m}/`))) problems.push(`resources/native-models lacks ${m}/`);
  const py = modelFiles.find((p) => p.endsWith('.py') || p.startsWith('/bridge/'));
  if (py) problems.push(`resources/native-models contains Python bridge files: ${py}`);

  const size = (d) => walkFiles(d).reduce((s, p) => s + statSync(join(d, p)).size, 0);
  return {
    problems,
    summary: {
      asarFiles: files.length,
      asarMiB: +(statSync(asarPath).size / 2 ** 20).toFixed(1),
      unpackedFiles: unpacked.length,
      unpackedMiB: +(size(unpackedDir) / 2 ** 20).toFixed(1),
      nativeModelFiles: modelFiles.length,
      onnxruntimeBinaries: ortLinux.length,
      itkWasmPipelines: wasm.length,
    },
  };
}

async function main(argv) {
  const staticOnly = argv.includes('--static');
  const say = (s) => process.stdout.write(`${s}\n`);
  const problems = validateConfig(loadConfig());
  say(`electron-builder config ${CONFIG_PATH}: ${problems.length === 0 ? 'valid' : `${problems.length} problem(s)`}`);
  if (!staticOnly) {
    if (!existsSync(join(PROJECT_ROOT, 'out', 'main', 'index.js'))) problems.push('the app is not built (out/main/index.js missing): run `npm run build` first');
    else {
      const t0 = Date.now();
      let packed;
      try {
        packed = packLinuxDir();
        const { problems: p, summary } = checkPackedApp(packed.appOutDir);
        problems.push(...p);
        say(`packed linux dir with a stub Electron in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(summary)}`);
      } catch (e) {
        problems.push(e.message);
      } finally {
        if (packed) rmSync(packed.workDir, { recursive: true, force: true });
      }
    }
  }
  for (const p of problems) say(`✗ ${p}`);
  say(problems.length === 0 ? 'packaging check passed' : 'packaging check FAILED');
  return problems.length === 0 ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
