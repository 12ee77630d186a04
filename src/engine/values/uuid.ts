import type { FamilyHandler, SqliteScalar } from './types.ts';
import { ValueError, rejectValue } from './value-error.ts';

/** uuid. The wire is the canonical lowercase 8-4-4-4-12 form Postgres prints. */
const DASHED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UNDASHED = /^[0-9a-f]{32}$/i;

function canonical(hex32: string): string {
  const h = hex32.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Accepts any case, optional surrounding braces, with or without dashes; else undefined. */
function parseUuidText(text: string): string | undefined {
  let body = text.trim();
  if (body.startsWith('{') !== body.endsWith('}')) return undefined;
  if (body.startsWith('{')) body = body.slice(1, -1);
  if (DASHED.test(body)) return canonical(body.replaceAll('-', ''));
  if (UNDASHED.test(body)) return canonical(body);
  return undefined;
}

const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** 8-4-4-4-12 lowercase hex: what Postgres prints for a uuid, and the wire form itself. */
export function isCanonicalUuid(text: string): boolean {
  return CANONICAL.test(text);
}

function uuidFromSqlite(value: SqliteScalar): string {
  if (typeof value === 'string') {
    if (CANONICAL.test(value)) return value; // already the wire form: the common case, kept cheap
    const parsed = parseUuidText(value);
    if (parsed === undefined) throw rejectValue('uuid', value, 'not a UUID');
    return parsed;
  }
  if (value instanceof Uint8Array && value.length === 16) {
    return canonical(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex'));
  }
  throw rejectValue('uuid', value, 'expected UUID text or 16 bytes');
}

function wireUuid(wire: string): string {
  if (CANONICAL.test(wire)) return wire;
  const parsed = parseUuidText(wire);
  if (parsed === undefined) throw new ValueError(`${JSON.stringify(wire)} is not a UUID`);
  return parsed;
}

export const uuidHandler: FamilyHandler = {
  fromPg: (text) => text.toLowerCase(),
  fromSqlite: uuidFromSqlite,
  toSqlite(wire, codec) {
    const uuid = wireUuid(wire);
    return codec.affinity === 'BLOB' ? Buffer.from(uuid.replaceAll('-', ''), 'hex') : uuid;
  },
  same: (a, b) => a === b || wireUuid(a) === wireUuid(b),
  compare: (a, b) => {
    const x = wireUuid(a);
    const y = wireUuid(b);
    return x < y ? -1 : x > y ? 1 : 0;
  },
};
