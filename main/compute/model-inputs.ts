/**
 * Checks shared by the compute methods that take a model and the series mapped to its inputs ('segment.run',
 * 'models.estimate') and the grid of a scanned series ('mesh.build' too).
 */
import { DelineateError } from '../common/errors';
import type { ModelManifest } from '../common/manifest';
import type { Grid, VolumeInfo } from '../common/volume';
import { gridDifference } from '../core/metrics/grid';

/** The voxel grid of a scanned series (copies; LPS mm, direction columns = ijk axes). */
export function gridOfInfo(info: VolumeInfo): Grid {
  return { size: [...info.size], spacingMm: [...info.spacingMm], originMm: [...info.originMm], direction: [...info.direction] };
}

/**
 * The infos of the series mapped to `manifest`'s input channels, in channel order, after checking that there is one
 * per channel (USAGE, subject `params.volumeIds`) and that all lie on the grid of the first (GEOMETRY, subject
 * `params.volumeIds[i]`, naming the channel and the source).
 */
export function modelInputInfos(manifest: ModelManifest, volumeIds: readonly string[], infoOf: (id: string) => VolumeInfo): VolumeInfo[] {
  const m = manifest;
  if (volumeIds.length !== m.channels.length)
    throw new DelineateError(
      'USAGE',
      `Model ${m.id} takes ${m.channels.length} input series (${m.channels.map((c) => c.name).join(', ')}), got ${volumeIds.length}`,
      { subject: 'params.volumeIds' },
    );
  const infos = volumeIds.map((id) => infoOf(id));
  const first = gridOfInfo(infos[0]!);
  infos.forEach((info, i) => {
    const diff = gridDifference(gridOfInfo(info), first);
    if (diff)
      throw new DelineateError('GEOMETRY', `Input ${i + 1} (${m.channels[i]!.name}: ${info.source}) is on another grid than input 1 (${diff}); co-register the series first`, {
        subject: `params.volumeIds[${i}]`,
      });
  });
  return infos;
}
