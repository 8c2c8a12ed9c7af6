/**
 * Segment colours: sRGB (0–255, the data model) ↔ DICOM's RecommendedDisplayCIELabValue (PS3.3 C.10.7.1.1: CIELab
 * with the D65 white point, L* scaled 0–100 → 0–65535, a* and b* scaled −128…127 → 0…65535), and the default
 * palette for segments without a colour.
 */
import type { CodedConcept } from '../../common/segmentation';

export type Rgb = [number, number, number];

/** Slicer-like default colours (sRGB 0–255), cycled by label value. The same palette as main/core/mesh. */
export const PALETTE: readonly Rgb[] = [
  [128, 174, 128], [241, 214, 145], [177, 122, 101], [111, 184, 210], [216, 101, 79], [221, 130, 101],
  [144, 238, 144], [192, 104, 88], [220, 245, 20], [78, 63, 0], [255, 250, 220], [230, 220, 70],
];

/** Default colour of a label value (1-based). */
export function defaultColor(value: number): Rgb {
  return [...PALETTE[(Math.max(1, value) - 1) % PALETTE.length]!] as Rgb;
}

/** SNOMED CT 'Tissue' (85756007): the default segmented property category and type. */
export const TISSUE: CodedConcept = { scheme: 'SCT', value: '85756007', meaning: 'Tissue' };

// D65 reference white (CIE 1931 2°), as used by DICOM and highdicom.
const WHITE: Rgb = [0.95047, 1.0, 1.08883];

const toLinear = (c: number): number => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const fromLinear = (c: number): number => (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);
const f = (t: number): number => (t > (6 / 29) ** 3 ? Math.cbrt(t) : t / (3 * (6 / 29) ** 2) + 4 / 29);
const finv = (t: number): number => (t > 6 / 29 ? t ** 3 : 3 * (6 / 29) ** 2 * (t - 4 / 29));

/** sRGB 0–255 → DICOM-scaled CIELab (three integers 0–65535). */
export function rgbToDicomLab(rgb: Rgb): Rgb {
  const [r, g, b] = rgb.map((c) => toLinear(c / 255)) as Rgb;
  const x = 0.4124564 * r + 0.3575761 * g + 0.1804375 * b;
  const y = 0.2126729 * r + 0.7151522 * g + 0.072175 * b;
  const z = 0.0193339 * r + 0.119192 * g + 0.9503041 * b;
  const fx = f(x / WHITE[0]);
  const fy = f(y / WHITE[1]);
  const fz = f(z / WHITE[2]);
  const L = 116 * fy - 16;
  const a = 500 * (fx - fy);
  const bb = 200 * (fy - fz);
  const clamp = (v: number) => Math.min(65535, Math.max(0, Math.round(v)));
  return [clamp((L * 65535) / 100), clamp(((a + 128) * 65535) / 255), clamp(((bb + 128) * 65535) / 255)];
}

/** DICOM-scaled CIELab → sRGB 0–255 (rounded, clamped to the sRGB gamut). */
export function dicomLabToRgb(lab: readonly number[]): Rgb {
  const L = ((lab[0] ?? 0) * 100) / 65535;
  const a = ((lab[1] ?? 32896) * 255) / 65535 - 128;
  const bb = ((lab[2] ?? 32896) * 255) / 65535 - 128;
  const fy = (L + 16) / 116;
  const x = WHITE[0] * finv(fy + a / 500);
  const y = WHITE[1] * finv(fy);
  const z = WHITE[2] * finv(fy - bb / 200);
  const r = 3.2404542 * x - 1.5371385 * y - 0.4985314 * z;
  const g = -0.969266 * x + 1.8760108 * y + 0.041556 * z;
  const b = 0.0556434 * x - 0.2040259 * y + 1.0572252 * z;
  return [r, g, b].map((c) => Math.min(255, Math.max(0, Math.round(fromLinear(Math.min(1, Math.max(0, c))) * 255)))) as Rgb;
}
