/**
 * Draws Delineate's application icon and writes resources/icon.png (512×512), resources/icon.ico (256×256 PNG
 * inside an ICO) and resources/icon.icns (256, 512 and 1024 px PNGs). Pure Node (zlib), no image libraries:
 * a dark rounded square, a grey axial "scan" disc, a cyan segmentation contour and a crosshair.
 *
 *   node build/make-icons.mjs        (re-run after changing the drawing; the outputs are committed)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const OUT = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'resources');

/** RGBA colour of the icon at (x, y) in [0,1]² (y down). */
function shade(x, y) {
  const cx = x - 0.5;
  const cy = y - 0.5;
  // Rounded square background (corner radius 0.18, margin 0.04).
  const m = 0.04;
  const r = 0.18;
  const qx = Math.max(Math.abs(cx) - (0.5 - m - r), 0);
  const qy = Math.max(Math.abs(cy) - (0.5 - m - r), 0);
  if (Math.hypot(qx, qy) > r) return [0, 0, 0, 0];
  let c = [16, 20, 26];
  // Grey "head" disc with a brighter rim (skull).
  const d = Math.hypot(cx / 0.34, cy / 0.38);
  if (d < 1) c = d > 0.9 ? [205, 208, 212] : [92, 98, 106];
  // Segmentation contour: a cyan ring around an off-centre blob, filled translucent.
  const b = Math.hypot((cx + 0.07) / 0.15, (cy - 0.04) / 0.12);
  if (b < 1) c = mix(c, [40, 200, 230], 0.45);
  if (Math.abs(b - 1) < 0.09) c = [60, 225, 245];
  // Crosshair (thin orange lines with a gap in the middle).
  const t = 0.008;
  const gap = 0.06;
  if ((Math.abs(cx + 0.07) < t && Math.abs(cy - 0.04) > gap && Math.abs(cy) < 0.42) || (Math.abs(cy - 0.04) < t && Math.abs(cx + 0.07) > gap && Math.abs(cx) < 0.42))
    c = [250, 170, 60];
  return [...c, 255];
}

function mix(a, b, t) {
  return a.map((v, i) => Math.round(v * (1 - t) + b[i] * t));
}

/** Render at `size` px with 4×4 supersampling. Returns RGBA bytes. */
function render(size) {
  const px = new Uint8Array(size * size * 4);
  const s = 4;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const acc = [0, 0, 0, 0];
      for (let j = 0; j < s; j++)
        for (let i = 0; i < s; i++) {
          const c = shade((x + (i + 0.5) / s) / size, (y + (j + 0.5) / s) / size);
          acc[0] += c[0] * c[3];
          acc[1] += c[1] * c[3];
          acc[2] += c[2] * c[3];
          acc[3] += c[3];
        }
      const o = (y * size + x) * 4;
      const a = acc[3] / (s * s);
      px[o] = acc[3] ? Math.round(acc[0] / acc[3]) : 0;
      px[o + 1] = acc[3] ? Math.round(acc[1] / acc[3]) : 0;
      px[o + 2] = acc[3] ? Math.round(acc[2] / acc[3]) : 0;
      px[o + 3] = Math.round(a);
    }
  return px;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Encode RGBA pixels as a PNG (8-bit RGBA, filter 0 on every row). */
export function encodePng(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) Buffer.from(rgba.buffer, y * size * 4, size * 4).copy(raw, y * (size * 4 + 1) + 1);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

/** ICO with one 256×256 PNG image (Windows Vista+). */
function encodeIco(png256) {
  const header = Buffer.alloc(6 + 16);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // icon
  header.writeUInt16LE(1, 4); // one image
  header[6] = 0; // width 256
  header[7] = 0; // height 256
  header.writeUInt16LE(1, 10); // planes
  header.writeUInt16LE(32, 12); // bits per pixel
  header.writeUInt32LE(png256.length, 14);
  header.writeUInt32LE(22, 18);
  return Buffer.concat([header, png256]);
}

/** ICNS with PNG entries: ic08 (256), ic09 (512), ic10 (1024). */
function encodeIcns(entries) {
  const parts = entries.map(([type, png]) => {
    const h = Buffer.alloc(8);
    h.write(type, 0, 'ascii');
    h.writeUInt32BE(png.length + 8, 4);
    return Buffer.concat([h, png]);
  });
  const body = Buffer.concat(parts);
  const h = Buffer.alloc(8);
  h.write('icns', 0, 'ascii');
  h.writeUInt32BE(body.length + 8, 4);
  return Buffer.concat([h, body]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  mkdirSync(OUT, { recursive: true });
  const png = Object.fromEntries([256, 512, 1024].map((s) => [s, encodePng(s, render(s))]));
  writeFileSync(join(OUT, 'icon.png'), png[512]);
  writeFileSync(join(OUT, 'icon.ico'), encodeIco(png[256]));
  writeFileSync(join(OUT, 'icon.icns'), encodeIcns([['ic08', png[256]], ['ic09', png[512]], ['ic10', png[1024]]]));
  process.stdout.write(`wrote ${join(OUT, 'icon.png')}, icon.ico, icon.icns\n`);
}
