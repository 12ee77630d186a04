import { z } from 'zod';
import { configSchema } from './schema.ts';

/** JSON Schema for editors (`possync config schema > possync.schema.json`). */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, title: 'possync configuration', $id: 'https://possync.dev/schema/possync.config.json' };
}
