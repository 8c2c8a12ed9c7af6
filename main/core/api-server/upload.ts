/**
 * Upload parsing for `POST /v1/jobs`: multipart/form-data (a `file` part plus `model` and option fields) or a raw
 * body (options in the query string), and recognition of what was uploaded by its bytes: NIfTI-1/2 (plain or
 * gzip), NRRD, MetaImage (.mha) or a ZIP archive (a DICOM series).
 */
import { constants, gunzipSync } from 'node:zlib';
import { DelineateError } from '../../common/errors';

/** A part of a multipart body. */
export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

const bad = (message: string, subject?: string): never => {
  throw new DelineateError('INPUT', message, subject ? { subject } : {});
};

/** Parse a multipart/form-data body (RFC 7578). INPUT error when the body does not follow the boundary. */
export function parseMultipart(body: Buffer, contentType: string): FormPart[] {
  const m = /boundary=(?:"([^"]+)"|([^;,\s]+))/i.exec(contentType);
  if (!m) bad('multipart/form-data without a boundary parameter in Content-Type', 'Content-Type');
  const boundary = Buffer.from(`--${m![1] ?? m![2]}`);
  const parts: FormPart[] = [];
  let pos = body.indexOf(boundary);
  if (pos < 0) bad('multipart body does not contain its boundary', 'body');
  for (;;) {
    pos += boundary.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break; // closing boundary
    if (body.subarray(pos, pos + 2).toString() !== '\r\n') bad('multipart boundary not followed by CRLF', 'body');
    pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) bad('multipart part without a header end', 'body');
    const headers = body.subarray(pos, headerEnd).toString('utf8').split('\r\n');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), boundary]), headerEnd + 4);
    if (next < 0) bad('multipart body is truncated (no closing boundary)', 'body');
    const part: FormPart = { name: '', data: body.subarray(headerEnd + 4, next) };
    for (const h of headers) {
      const colon = h.indexOf(':');
      if (colon < 0) continue;
      const key = h.slice(0, colon).trim().toLowerCase();
      const value = h.slice(colon + 1).trim();
      if (key === 'content-disposition') {
        const name = /\bname="([^"]*)"/i.exec(value);
        const filename = /\bfilename="([^"]*)"/i.exec(value);
        if (name) part.name = name[1]!;
        if (filename) part.filename = filename[1]!;
      } else if (key === 'content-type') part.contentType = value;
    }
    if (!part.name) bad('multipart part without a name in Content-Disposition', 'body');
    parts.push(part);
    pos = next + 2;
  }
  return parts;
}

/** What an upload is, recognised from its bytes. */
export type UploadKind = { kind: 'image'; extension: '.nii' | '.nii.gz' | '.nrrd' | '.mha' } | { kind: 'zip' };

function niftiHeader(b: Buffer): boolean {
  if (b.length < 348) return false;
  const le = b.readInt32LE(0);
  const be = b.readInt32BE(0);
  if (le === 348 || be === 348) return ['n+1\0', 'ni1\0'].includes(b.toString('latin1', 344, 348));
  if ((le === 540 || be === 540) && b.length >= 8) return b.toString('latin1', 4, 8) === 'n+2\0';
  return false;
}

/**
 * Recognise an upload by content (the file name is not trusted). INPUT error naming what was found otherwise
 * (e.g. "a PNG image", "plain text"), listing what is accepted.
 */
export function detectUpload(data: Buffer, filename = 'upload'): UploadKind {
  const accepted = 'a NIfTI (.nii, .nii.gz), NRRD (.nrrd, attached data), MetaImage (.mha) file or a .zip of one DICOM series';
  if (data.length === 0) bad(`${filename}: the upload is empty; send ${accepted}`, filename);
  if (data.length >= 4 && data.readUInt32LE(0) === 0x04034b50) return { kind: 'zip' };
  if (data[0] === 0x1f && data[1] === 0x8b) {
    let head: Buffer;
    try {
      // Only a prefix: 16 KiB of deflate inflates to at most ~16 MiB, and holds a NIfTI header many times over.
      // Z_SYNC_FLUSH as the final flush: a cut stream yields its beginning instead of an error.
      head = gunzipSync(data.subarray(0, 16 * 1024), { finishFlush: constants.Z_SYNC_FLUSH });
    } catch (e) {
      return bad(`${filename}: gzip data that does not inflate (${(e as Error).message}); send ${accepted}`, filename);
    }
    if (niftiHeader(head)) return { kind: 'image', extension: '.nii.gz' };
    bad(`${filename}: gzip data that is not a NIfTI image; send ${accepted}`, filename);
  }
  if (niftiHeader(data)) return { kind: 'image', extension: '.nii' };
  const text = data.toString('latin1', 0, Math.min(64, data.length));
  if (/^NRRD\d{4}/.test(text)) {
    if (/^\s*data file\s*:/im.test(data.toString('latin1', 0, Math.min(data.length, 8192))))
      bad(`${filename}: a detached-header NRRD (data file: …) cannot be uploaded alone; send an attached .nrrd`, filename);
    return { kind: 'image', extension: '.nrrd' };
  }
  if (/^(ObjectType|NDims)\s*=/.test(text)) {
    if (/ElementDataFile\s*=\s*(?!LOCAL)/i.test(data.toString('latin1', 0, Math.min(data.length, 8192))))
      bad(`${filename}: a MetaImage header with a separate data file cannot be uploaded alone; send a .mha with ElementDataFile = LOCAL`, filename);
    return { kind: 'image', extension: '.mha' };
  }
  let what = 'unrecognised binary data';
  if (data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) what = 'a PNG image';
  else if (data[0] === 0xff && data[1] === 0xd8) what = 'a JPEG image';
  else if (data.length > 132 && data.toString('latin1', 128, 132) === 'DICM') what = 'a single DICOM file (zip the whole series)';
  else if (/^%PDF/.test(text)) what = 'a PDF document';
  else if ([...text].every((ch) => ch === '\t' || ch === '\n' || ch === '\r' || (ch >= ' ' && ch <= '~'))) what = 'plain text';
  return bad(`${filename}: ${what}, not an image volume; send ${accepted}`, filename);
}
