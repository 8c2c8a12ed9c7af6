/** The API's defensive zip reader and upload recognition (by content, not by name). */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { detectUpload, parseMultipart, readZip } from '../../../main/core/api-server/index';
import { dataPath, hasData } from '../../helpers/data';
import { buildZip } from './zipwriter';

describe('readZip', () => {
  const a = Buffer.from('hello DICOM '.repeat(100));
  const b = Buffer.from([0, 1, 2, 3, 250, 251]);

  it('reads stored and deflated entries, skips folders, keeps relative paths', () => {
    const zip = buildZip([
      { name: 'series/', data: Buffer.alloc(0) },
      { name: 'series/a.dcm', data: a, deflate: true },
      { name: './series/sub/b.dcm', data: b },
    ]);
    const out = readZip(zip);
    expect(out.map((e) => e.name)).toEqual(['series/a.dcm', 'series/sub/b.dcm']);
    expect(out[0]!.data.equals(a)).toBe(true);
    expect(out[1]!.data.equals(b)).toBe(true);
    if (existsSync('/usr/bin/unzip')) {
      // The test writer's archives are real zips (checked by Info-ZIP where installed).
      const dir = mkdtempSync(join(tmpdir(), 'delineate-zip-'));
      writeFileSync(join(dir, 't.zip'), zip);
      expect(execFileSync('/usr/bin/unzip', ['-t', join(dir, 't.zip')]).toString()).toMatch(/No errors detected/);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['../../etc/passwd', /leaves the extraction folder/],
    ['series/../../x.dcm', /leaves the extraction folder/],
    ['/abs/x.dcm', /absolute path/],
    ['C:/x.dcm', /absolute path/],
    ['series\\..\\x.dcm', /backslashes/],
  ])('refuses the unsafe name %j (zip-slip)', (name, msg) => {
    expect(() => readZip(buildZip([{ name, data: b }]))).toThrow(msg);
  });

  it('refuses a zip bomb: an entry with a huge ratio, and a directory that lies about the size', () => {
    const zeros = Buffer.alloc(50 * 1024 * 1024);
    expect(() => readZip(buildZip([{ name: 'bomb.dcm', data: zeros, deflate: true }]))).toThrow(/compression ratio over 200:1/);
    // Declares 10 bytes but inflates to 50 MiB: inflation stops at the declared size and the entry is refused.
    expect(() => readZip(buildZip([{ name: 'liar.dcm', data: zeros, deflate: true, declaredSize: 10 }]))).toThrow(/liar\.dcm/);
    expect(() => readZip(buildZip([{ name: 'big.dcm', data: a, deflate: true }]), { maxTotalBytes: 100 })).toThrow(/more than 100 bytes/);
    expect(() => readZip(buildZip([{ name: 'a', data: b }, { name: 'b', data: b }]), { maxEntries: 1 })).toThrow(/2 entries/);
  });

  it('refuses damaged archives with the entry named', () => {
    expect(() => readZip(buildZip([{ name: 'x.dcm', data: a, crc: 1234 }]))).toThrow(/x\.dcm' fails its CRC-32/);
    const zip = buildZip([{ name: 'x.dcm', data: a }]);
    expect(() => readZip(zip.subarray(0, zip.length - 30))).toThrow(/truncated/);
    expect(() => readZip(Buffer.from('PK\u0003\u0004 and then nothing useful at all'))).toThrow(/truncated|damaged/);
    expect(() => readZip(Buffer.from('not a zip at all, just some text here'))).toThrow(/not a zip/);
  });
});

describe('detectUpload', () => {
  it('recognises NIfTI by its header (gzipped, truncated gzip tail, or plain) and names other content', () => {
    if (!hasData('totalseg-example/example_ct_sm.nii.gz')) return;
    const gz = readFileSync(dataPath('totalseg-example/example_ct_sm.nii.gz'));
    expect(detectUpload(gz)).toEqual({ kind: 'image', extension: '.nii.gz' });
    expect(detectUpload(gz.subarray(0, 5000))).toEqual({ kind: 'image', extension: '.nii.gz' });
    expect(() => detectUpload(gzipSync(Buffer.from('not nifti'.repeat(100))), 'x.nii.gz')).toThrow(/x\.nii\.gz: gzip data that is not a NIfTI/);
    expect(detectUpload(buildZip([{ name: 'a', data: Buffer.from('x') }]))).toEqual({ kind: 'zip' });
    expect(detectUpload(Buffer.from('NRRD0004\ntype: short\n'))).toEqual({ kind: 'image', extension: '.nrrd' });
    expect(() => detectUpload(Buffer.from('NRRD0004\ndata file: x.raw\n'), 'h.nhdr')).toThrow(/detached-header NRRD/);
    expect(() => detectUpload(Buffer.from('hello, this is text'), 'notes.nii.gz')).toThrow(/notes\.nii\.gz: plain text, not an image volume/);
    expect(() => detectUpload(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]), 'p.nii')).toThrow(/a PNG image/);
    expect(() => detectUpload(Buffer.alloc(0), 'e')).toThrow(/empty/);
  });
});

describe('parseMultipart', () => {
  it('splits parts with names, file names and binary content', () => {
    const bin = Buffer.from([0, 13, 10, 45, 45, 255]);
    const body = Buffer.concat([
      Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="model"\r\n\r\nm1\r\n'),
      Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.nii"\r\nContent-Type: application/octet-stream\r\n\r\n'),
      bin,
      Buffer.from('\r\n--XyZ--\r\n'),
    ]);
    const parts = parseMultipart(body, 'multipart/form-data; boundary=XyZ');
    expect(parts.map((p) => [p.name, p.filename, p.data.toString('hex')])).toEqual([
      ['model', undefined, Buffer.from('m1').toString('hex')],
      ['file', 'a.nii', bin.toString('hex')],
    ]);
    expect(() => parseMultipart(body.subarray(0, body.length - 12), 'multipart/form-data; boundary=XyZ')).toThrow(/truncated/);
    expect(() => parseMultipart(body, 'multipart/form-data')).toThrow(/boundary/);
  });
});
