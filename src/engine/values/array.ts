import type { ColumnCodec, Family, FamilyHandler, SqliteScalar, SqliteValue } from './types.ts';
import { parseBoolText } from './bool.ts';
import { formatDecimal, parseDecimal } from './decimal.ts';
import { type JsonNode, parseJson, stringifyJson } from './json-tree.ts';
import { type ArrayItems, formatPgArray, isArrayLiteral, parsePgArray } from './pg-array.ts';
import { ValueError, orElse, rejectValue } from './value-error.ts';

/**
 * One-dimensional arrays. The wire is a Postgres array literal; SQLite applications store JSON
 * array text. Each element goes through its element family's rules, so an int[] element is as
 * exact as an int column.
 */
const TEMPORAL = new Set<Family>(['timestamptz', 'timestamp', 'date']);
const NUMERIC = new Set<Family>(['int', 'numeric', 'float']);
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Elements are converted as if stored in a TEXT column, in the array column's temporal form. */
function elementCodec(family: Family, codec: ColumnCodec): ColumnCodec {
  return { family, affinity: 'TEXT', form: codec.form };
}

/** A JSON array item as the SQLite value the element family's rules expect. */
function itemAsSqlite(node: JsonNode, family: Family): SqliteValue {
  switch (node.kind) {
    case 'null':
      return null;
    case 'bool':
      return String(node.value);
    case 'string':
      return node.value;
    case 'number':
      // Temporal elements read numbers as epochs; everything else gets the exact source text.
      if (!TEMPORAL.has(family)) return node.text;
      return /^-?\d+$/.test(node.text) ? BigInt(node.text) : Number(node.text);
    case 'array':
    case 'object':
      if (family === 'json') return stringifyJson(node);
      throw new ValueError('nested arrays and objects are only allowed in json[] columns');
  }
}

/** SQLite array text -> wire literal: JSON array text, or an array literal already. */
function arrayFromSqlite(value: SqliteScalar, codec: ColumnCodec, family: Family, element: FamilyHandler): string {
  if (typeof value !== 'string') throw rejectValue('array', value, 'expected JSON array text');
  const convert = (item: SqliteValue): string | null =>
    item === null ? null : element.fromSqlite(item, elementCodec(family, codec));
  if (isArrayLiteral(value)) return formatPgArray(parsePgArray(value).map(convert));
  const node = orElse(() => parseJson(value), undefined);
  if (node?.kind !== 'array') throw rejectValue('array', value, 'expected JSON array text');
  return formatPgArray(node.items.map((item) => convert(itemAsSqlite(item, family))));
}

/** One wire element as JSON: numbers from their exact text, booleans as true/false. */
function elementAsJson(item: string | null, family: Family, element: FamilyHandler): string {
  if (item === null) return 'null';
  const wire = element.fromPg(item); // elements may be in Postgres's spelling ('t', '... +00')
  if (family === 'bool') {
    const value = parseBoolText(wire);
    if (value === undefined) throw rejectValue('array', item, 'not a boolean element');
    return String(value);
  }
  if (NUMERIC.has(family)) {
    if (JSON_NUMBER.test(wire)) return wire;
    const decimal = parseDecimal(wire);
    // NaN and Infinity have no JSON number; as strings they still read back through fromSqlite.
    if (decimal !== undefined) return formatDecimal(decimal);
  }
  return JSON.stringify(wire);
}

function itemsSame(a: ArrayItems, b: ArrayItems, element: FamilyHandler): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i] ?? null;
    if (x === null || y === null) return x === y;
    return x === y || orElse(() => element.same(element.fromPg(x), element.fromPg(y)), false);
  });
}

/**
 * The handler for arrays of `family`, whose rules are `element`. Without an element family
 * (callers that pass only 'array') elements are compared as text.
 */
export function arrayHandler(family: Family, element: FamilyHandler): FamilyHandler {
  const normalise = (item: string | null): string | null => (item === null ? null : element.fromPg(item));
  return {
    // Postgres spells elements its own way ('{t,f}'); rewrite them in wire spelling ('{true,false}').
    fromPg: (text) => orElse(() => formatPgArray(parsePgArray(text).map(normalise)), text),
    fromSqlite: (value, codec) => arrayFromSqlite(value, codec, family, element),
    toSqlite: (wire) => `[${parsePgArray(wire).map((item) => elementAsJson(item, family, element)).join(',')}]`,
    same: (a, b) => itemsSame(parsePgArray(a), parsePgArray(b), element),
    compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  };
}
