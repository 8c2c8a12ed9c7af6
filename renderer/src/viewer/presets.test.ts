import { describe, expect, it } from 'vitest';
import { autoWindow, intensityStats, looksLikeCt, vrTransfer, WL_PRESETS } from './presets';

describe('window/level presets', () => {
  it('has the conventional CT windows', () => {
    const wl = Object.fromEntries(WL_PRESETS.filter((p) => p.wl).map((p) => [p.id, p.wl]));
    expect(wl).toEqual({
      'ct-brain': { width: 80, center: 40 },
      'ct-soft': { width: 400, center: 40 },
      'ct-lung': { width: 1500, center: -600 },
      'ct-bone': { width: 1800, center: 400 },
    });
  });

  it('computes percentile windows that ignore outliers', () => {
    // 0…999 uniformly, plus a few extreme voxels.
    const data = new Int16Array(100_000);
    for (let i = 0; i < data.length; i++) data[i] = i % 1000;
    data[0] = -32000;
    data[1] = 32000;
    const s = intensityStats(data);
    expect(s.min).toBe(-32000);
    expect(s.max).toBe(32000);
    // 4096 bins over 64000 units: ±16 units resolution.
    expect(Math.abs(s.p005 - 5)).toBeLessThan(20);
    expect(Math.abs(s.p995 - 995)).toBeLessThan(20);
    const wl = autoWindow(s);
    expect(Math.abs(wl.width - 990)).toBeLessThan(40);
    expect(Math.abs(wl.center - 500)).toBeLessThan(20);
  });

  it('handles constant and float data', () => {
    expect(autoWindow(intensityStats(new Float32Array(10).fill(3)))).toEqual({ width: 1, center: 3.5 });
    const f = new Float32Array(1000).map((_, i) => i / 1000);
    const s = intensityStats(f);
    expect(s.p995).toBeGreaterThan(0.98);
    expect(s.p995).toBeLessThanOrEqual(1);
  });

  it('recognises CT by modality or by an HU-like range', () => {
    const hu = intensityStats(Int16Array.from([-1024, -1000, 0, 40, 1500]));
    const mr = intensityStats(Uint16Array.from([0, 100, 800, 2000]));
    expect(looksLikeCt('CT', mr)).toBe(true);
    expect(looksLikeCt('MR', hu)).toBe(false);
    expect(looksLikeCt('', hu)).toBe(true);
    expect(looksLikeCt('', mr)).toBe(false);
  });

  it('builds transfer functions with increasing intensities', () => {
    const s = intensityStats(Uint16Array.from({ length: 1000 }, (_, i) => i));
    for (const id of ['ct-bone', 'ct-soft', 'mr'] as const) {
      const tf = vrTransfer(id, s);
      for (const pts of [tf.opacity.map((p) => p[0]), tf.color.map((p) => p[0])])
        for (let i = 1; i < pts.length; i++) expect(pts[i]).toBeGreaterThan(pts[i - 1]!);
    }
  });
});
