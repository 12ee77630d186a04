import { resolveConfig } from '../../src/config/load.ts';
import type { ResolvedConfig } from '../../src/config/types.ts';

/** A resolved config from a plain object, as if read from possync.config.json in `dir`. */
export function makeConfig(raw: Record<string, unknown>, dir: string): ResolvedConfig {
  return resolveConfig(raw, `${dir}/possync.config.json`, {});
}
