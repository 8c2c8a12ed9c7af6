/**
 * Shared parts of `delineate import-model`: reading an ONNX file's header (opset, producer) and its graph
 * signature through onnxruntime-node, checking both against a manifest, SHA-256 of files, and writing a model
 * folder atomically (everything goes into a temporary sibling folder that is renamed into place only once it is
 * complete and valid, so a failed or cancelled import never leaves a partial folder).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DelineateError, isCancelled, throwIfCancelled } from '../../../common/errors';
import { type ManifestIssue, type ModelManifest, networkInputChannels, networkOutputChannels, validateManifest } from '../../../common/manifest';
import { ort } from '../../inference/session';

/** One input or output of an ONNX graph, as onnxruntime reports it. Dimensions: number = static, string = symbolic. */
export interface OnnxValueInfo {
  name: string;
  /** Element type, e.g. 'float32'; undefined for non-tensor values. */
  type?: string;
  /** Shape `[N, C, spatial...]` for a segmentation network; empty when the model does not declare it. */
  shape: (number | string)[];
}

/** What {@link inspectOnnx} learned about an ONNX file. */
export interface OnnxInfo {
  path: string;
  sizeBytes: number;
  irVersion?: number;
  /** Version of the default ('' / 'ai.onnx') operator set. */
  opset?: number;
  producerName?: string;
  producerVersion?: string;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

/** Lower-case hex SHA-256 of a file. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Read a protobuf varint at `pos`; returns [value, next position]. Values above 2^53 lose precision (unused here). */
function varint(b: Uint8Array, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    if (pos >= b.length) throw new Error('truncated varint');
    const x = b[pos++]!;
    v += (x & 0x7f) * mul;
    if (!(x & 0x80)) return [v, pos];
    mul *= 128;
    if (mul > 2 ** 63) throw new Error('varint too long');
  }
}

/** Header fields of an ONNX file; `externalData` when some initializer keeps its weights in a separate file. */
export type OnnxHeader = Pick<OnnxInfo, 'irVersion' | 'opset' | 'producerName' | 'producerVersion'> & { externalData?: boolean };

/** Visit the fields of one protobuf message: `(field, wire, value | body)`. */
function eachField(b: Uint8Array, visit: (field: number, wire: number, v: number, body: Uint8Array) => void): void {
  let pos = 0;
  while (pos < b.length) {
    const [key, p1] = varint(b, pos);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    pos = p1;
    if (wire === 0) {
      const [v, p2] = varint(b, pos);
      pos = p2;
      visit(field, wire, v, b.subarray(0, 0));
    } else if (wire === 2) {
      const [len, p2] = varint(b, pos);
      if (p2 + len > b.length) throw new Error('truncated field');
      visit(field, wire, len, b.subarray(p2, p2 + len));
      pos = p2 + len;
    } else if (wire === 5) pos += 4;
    else if (wire === 1) pos += 8;
    else throw new Error(`unexpected wire type ${wire}`);
  }
}

/** Whether a GraphProto has an initializer (field 5) whose TensorProto.data_location (14) is EXTERNAL (1). */
function graphUsesExternalData(graph: Uint8Array): boolean {
  let external = false;
  eachField(graph, (f, w, _v, body) => {
    if (f === 5 && w === 2 && !external) eachField(body, (tf, tw, tv) => void (tf === 14 && tw === 0 && tv === 1 && (external = true)));
  });
  return external;
}

/**
 * The top-level fields of an ONNX `ModelProto` that are not in onnxruntime's API: ir_version (1), producer_name (2),
 * producer_version (3), opset_import (8: domain 1, version 2), and whether the graph's (7) initializers use
 * external data files (nothing else of the graph is decoded).
 */
export function readOnnxHeader(bytes: Uint8Array): OnnxHeader {
  const out: OnnxHeader = {};
  const text = new TextDecoder();
  let pos = 0;
  while (pos < bytes.length) {
    const [key, p1] = varint(bytes, pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    pos = p1;
    if (wire === 0) {
      const [v, p2] = varint(bytes, pos);
      pos = p2;
      if (field === 1) out.irVersion = v;
    } else if (wire === 2) {
      const [len, p2] = varint(bytes, pos);
      const body = bytes.subarray(p2, p2 + len);
      if (p2 + len > bytes.length) throw new Error('truncated field');
      pos = p2 + len;
      if (field === 7) {
        if (graphUsesExternalData(body)) out.externalData = true;
      } else if (field === 2) out.producerName = text.decode(body);
      else if (field === 3) out.producerVersion = text.decode(body);
      else if (field === 8) {
        let q = 0;
        let domain = '';
        let version: number | undefined;
        while (q < body.length) {
          const [k, q1] = varint(body, q);
          q = q1;
          if ((k & 7) === 0) {
            const [v, q2] = varint(body, q);
            q = q2;
            if (k >> 3 === 2) version = v;
          } else if ((k & 7) === 2) {
            const [l, q2] = varint(body, q);
            if (k >> 3 === 1) domain = text.decode(body.subarray(q2, q2 + l));
            q = q2 + l;
          } else throw new Error(`unexpected wire type ${k & 7} in opset_import`);
        }
        if ((domain === '' || domain === 'ai.onnx') && version !== undefined) out.opset = version;
      }
    } else if (wire === 5) pos += 4;
    else if (wire === 1) pos += 8;
    else throw new Error(`unexpected wire type ${wire}`);
  }
  return out;
}

/**
 * Open an ONNX file with onnxruntime-node (CPU, one thread, no graph optimisation: only the signature is needed)
 * and read its header. Throws MODEL naming the file when it is not a loadable ONNX model.
 */
export async function inspectOnnx(path: string): Promise<OnnxInfo> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new DelineateError('NOT_FOUND', `${path}: cannot read the ONNX file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { subject: path, cause: e });
  }
  let header: OnnxHeader;
  try {
    header = readOnnxHeader(bytes);
  } catch (e) {
    throw new DelineateError('MODEL', `${path}: not an ONNX model (${(e as Error).message})`, { subject: path, cause: e });
  }
  if (header.externalData)
    throw new DelineateError(
      'UNSUPPORTED',
      `${path}: its weights are in external data files, which a model folder does not carry; save it as one file, e.g. onnx.save(onnx.load(path), out, save_as_external_data=False)`,
      { subject: path },
    );
  const { externalData: _x, ...headerFields } = header;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled', intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (e) {
    throw new DelineateError('MODEL', `${path}: onnxruntime cannot load it: ${(e as Error).message}`, { subject: path, cause: e });
  }
  const value = (v: ort.InferenceSession.ValueMetadata): OnnxValueInfo =>
    v.isTensor ? { name: v.name, type: v.type, shape: [...v.shape] } : { name: v.name, shape: [] };
  const info: OnnxInfo = {
    path,
    sizeBytes: bytes.length,
    ...headerFields,
    inputs: session.inputMetadata.map(value),
    outputs: session.outputMetadata.map(value),
  };
  await session.release();
  return info;
}

/**
 * Every disagreement between an ONNX signature and a (valid) manifest, each naming the manifest field:
 * input/output names (`onnx.inputName`, `onnx.outputName`), element type float32, rank `2 + spatial dims`
 * (`dimensionality`), channel counts where static (`channels` + cascade, `output`), static spatial sizes equal to
 * `patchSize`, and `onnx.opset` equal to the file's default-domain opset.
 */
export function onnxManifestIssues(info: OnnxInfo, m: ModelManifest): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  const bad = (field: string, message: string): void => void issues.push({ field, message: `${field}: ${message}` });
  const file = basename(info.path);
  const nd = m.dimensionality === '2d' ? 2 : 3;
  const names = (l: OnnxValueInfo[]): string => l.map((v) => `"${v.name}"`).join(', ');
  const check = (kind: 'input' | 'output', field: string, wanted: string, list: OnnxValueInfo[], channels: number, channelField: string): void => {
    const v = list.find((x) => x.name === wanted);
    if (!v) return bad(field, `"${wanted}" is not an ${kind} of ${file} (its ${kind}s: ${names(list)})`);
    if (v.type !== undefined && v.type !== 'float32') bad(field, `${kind} "${wanted}" of ${file} is ${v.type}; Delineate feeds and reads float32`);
    if (v.type === undefined) return bad(field, `${kind} "${wanted}" of ${file} is not a tensor`);
    if (v.shape.length === 0) return; // shape not declared: checked when the model runs
    if (v.shape.length !== nd + 2)
      return bad('dimensionality', `${m.dimensionality} needs a rank-${nd + 2} ${kind} [N, C, ${nd === 3 ? 'x, y, z' : 'x, y'}], but ${file} ${kind} "${wanted}" has shape [${v.shape.join(', ')}]`);
    const c = v.shape[1];
    if (typeof c === 'number' && c !== channels) bad(channelField, `${file} ${kind} "${wanted}" has ${c} channel(s), the manifest implies ${channels}`);
    v.shape.slice(2).forEach((s, d) => {
      if (typeof s === 'number' && m.patchSize[d] !== s)
        bad(`patchSize[${d}]`, `${file} ${kind} "${wanted}" has a static spatial size ${s} on tensor axis ${d}; patchSize[${d}] is ${m.patchSize[d]}`);
    });
  };
  check('input', 'onnx.inputName', m.onnx.inputName, info.inputs, networkInputChannels(m), m.cascade ? 'cascade.foregroundLabels' : 'channels');
  check('output', 'onnx.outputName', m.onnx.outputName, info.outputs, networkOutputChannels(m), m.output.kind === 'softmax' ? 'output.labels' : 'output.regions');
  if (info.inputs.length !== 1) bad('onnx.inputName', `${file} has ${info.inputs.length} inputs (${names(info.inputs)}); Delineate feeds exactly one`);
  if (info.opset !== undefined && info.opset !== m.onnx.opset) bad('onnx.opset', `is ${m.onnx.opset}, but ${file} imports opset ${info.opset}`);
  return issues;
}

/** Throw MANIFEST with every validator issue (prefixed with `source`) when the JSON is not a valid manifest. */
export function validateOrThrow(json: unknown, source: string): ModelManifest {
  const issues = validateManifest(json);
  if (issues.length) throw new DelineateError('MANIFEST', issues.map((i) => `${source}: ${i.message}`).join('\n'), { subject: source });
  return json as ModelManifest;
}

/** Throw MODEL when the ONNX disagrees with the manifest. */
export function checkOnnxOrThrow(info: OnnxInfo, m: ModelManifest, source: string): void {
  const issues = onnxManifestIssues(info, m);
  if (issues.length) throw new DelineateError('MODEL', issues.map((i) => `${source}: ${i.message}`).join('\n'), { subject: issues[0]!.field });
}

/** Write a file (text or bytes) with temp file + rename in the same folder. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/**
 * Build a model folder at `outDir` atomically: `fill` writes everything into a fresh temporary sibling folder
 * (same parent, so the final rename is atomic); only when it returns is the folder renamed into place. On any
 * error or cancellation the temporary folder is removed and `outDir` is untouched. An existing `outDir` is an
 * error unless `force`, in which case it is replaced (moved aside, then deleted after the rename).
 */
export async function writeModelFolder(outDir: string, force: boolean, fill: (tmpDir: string) => Promise<void>, signal?: AbortSignal): Promise<string> {
  const out = resolve(outDir);
  if (existsSync(out) && !force)
    throw new DelineateError('IO', `${out} already exists; pass --force to replace it`, { subject: out });
  if (existsSync(out) && !statSync(out).isDirectory()) throw new DelineateError('IO', `${out} exists and is not a folder`, { subject: out });
  const parent = dirname(out);
  try {
    await mkdir(parent, { recursive: true });
  } catch (e) {
    throw new DelineateError('IO', `${parent}: cannot create the parent folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { subject: parent, cause: e });
  }
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = join(parent, `.${basename(out)}.import-${tag}`);
  await mkdir(tmp);
  try {
    await fill(tmp);
    throwIfCancelled(signal);
    if (existsSync(out)) {
      const old = join(parent, `.${basename(out)}.old-${tag}`);
      await rename(out, old);
      await rename(tmp, out);
      await rm(old, { recursive: true, force: true });
    } else await rename(tmp, out);
    return out;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    if (isCancelled(e) || e instanceof DelineateError) throw e;
    throw new DelineateError('IO', `${out}: could not write the model folder: ${(e as Error).message}`, { subject: out, cause: e });
  }
}

/** A Markdown model card generated from the manifest, for imports that come without one. */
export function generateModelCard(m: ModelManifest, onnx: OnnxInfo[], importedFrom: string): string {
  const ch = m.channels.map((c) => `${c.name} (${c.modality || 'any modality'}, normalisation ${c.normalization.scheme})`).join(', ');
  const labs = m.output.labels.map((l) => `${l.value} = ${l.name}`).join(', ');
  const lines = [
    `# ${m.name} (\`${m.id}\` ${m.version})`,
    '',
    m.description,
    '',
    '**Not for clinical decisions.** Research use only. This card was generated by `delineate import-model` from the',
    'manifest; the model\'s authors did not write it. Check the provenance below before relying on the model.',
    '',
    '## Model',
    '',
    `- Framework: ${m.framework}; ${m.dimensionality.toUpperCase()} network`,
    `- Input channels: ${ch}`,
    `- Output: ${m.output.kind}; labels ${labs}`,
    `- Spacing: ${m.targetSpacingMm ? `${m.targetSpacingMm.join(' × ')} mm (tensor axis order)` : "the image's own (no resampling)"}; tensor axes from image ijk ${JSON.stringify(m.tensorAxesFromIjk)}`,
    `- Patch ${m.patchSize.join(' × ')}, tile step ${m.tileStepSize}, ${m.blending.mode} blending, mirroring axes ${JSON.stringify(m.mirroringAxes)}`,
    `- Files: ${m.folds.map((f, i) => `fold ${f.fold} \`${f.file}\` (sha256 ${f.sha256.slice(0, 12)}…, ${onnx[i] ? `${(onnx[i].sizeBytes / 1e6).toFixed(2)} MB, opset ${onnx[i].opset ?? '?'}, producer ${onnx[i].producerName ?? '?'} ${onnx[i].producerVersion ?? ''}`.trim() : ''})`).join('; ')}`,
    `- Imported from: ${importedFrom}`,
    '',
    '## Provenance',
    '',
    '```json',
    JSON.stringify(m.provenance, null, 2),
    '```',
    '',
  ];
  return lines.join('\n');
}
