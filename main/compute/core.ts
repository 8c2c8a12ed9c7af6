/**
 * The real core behind the compute service (main/core/io). Kept in one place so that the bundled compute
 * entry statically includes core, while the dispatcher itself (./service) takes any {@link ServiceCore}.
 */
import { readVolume, scanPath } from '../core/io/index';
import type { ServiceCore } from './service';

export const core: ServiceCore = { scanPath, readVolume };
