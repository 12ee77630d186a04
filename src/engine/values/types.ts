/**
 * Types shared by every module of the value codec. The engine moves each column value between
 * SQLite and PostgreSQL as a `Wire` value: text that PostgreSQL accepts as input for the column's
 * type (or null), so one representation serves comparison, conflict resolution and both writers.
 */

/** Text PostgreSQL accepts as input for the column's type, or SQL NULL. */
export type Wire = string | null;

/** Coarse PostgreSQL type families; every family has one wire form and one set of rules. */
export type Family =
  | 'text'
  /** char(n): blank-padded by Postgres; trailing blanks carry no meaning (see bpchar.ts). */
  | 'bpchar'
  | 'uuid'
  | 'int'
  | 'numeric'
  | 'float'
  | 'bool'
  | 'timestamptz'
  | 'timestamp'
  | 'date'
  | 'time'
  | 'json'
  | 'bytea'
  | 'array'
  | 'other';

/** What better-sqlite3 returns with `safeIntegers(true)`: `number` only for REAL storage. */
export type SqliteValue = bigint | number | string | Buffer | null;

/** A SQLite value that is not NULL; family handlers never see NULL (codec.ts deals with it). */
export type SqliteScalar = Exclude<SqliteValue, null>;

/** SQLite column affinity (datatype3 §3.1). */
export type Affinity = 'INTEGER' | 'TEXT' | 'BLOB' | 'REAL' | 'NUMERIC';

/** How a SQLite application stores date/time values in one column. */
export type TemporalForm = 'iso-ms-z' | 'iso-ms' | 'sqlite-datetime' | 'epoch-ms' | 'epoch-s';

/** Everything the codec needs to know about one synced column. */
export interface ColumnCodec {
  family: Family;
  /** Element family, for `array` columns only. */
  element?: Family;
  /** Affinity of the SQLite column. */
  affinity: Affinity;
  /** Storage form of a temporal SQLite column; each temporal family has a default. */
  form?: TemporalForm;
}

/**
 * The rules of one family. Inputs and outputs are never NULL here. Every method throws
 * ValueError for a value it cannot represent exactly.
 */
export interface FamilyHandler {
  /** Postgres text output (see the session settings in codec.ts) -> wire. */
  fromPg(text: string): string;
  fromSqlite(value: SqliteScalar, codec: ColumnCodec): string;
  toSqlite(wire: string, codec: ColumnCodec): SqliteScalar;
  /** Semantic equality of two wire values (Postgres text output is accepted too). */
  same(a: string, b: string): boolean;
  /** Ordering for last-writer-wins columns. */
  compare(a: string, b: string): number;
}
