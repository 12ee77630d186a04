import type { ConflictPolicy, Direction, FallbackPolicy, TableConfig } from '../../config/types.ts';
import type { PgTableInfo } from '../../db/postgres/introspect.ts';
import type { SqliteTableInfo } from '../../db/sqlite/introspect.ts';
import type { ColumnCodec, Family } from '../values/codec.ts';
import type { Modifier } from '../values/fits.ts';

/** A column synced between the two sides. */
export interface ColumnPlan {
  pg: string;
  sqlite: string;
  family: Family;
  /** Postgres type that wire text is cast to. */
  castType: string;
  /** How values are stored on the SQLite side. */
  codec: ColumnCodec;
  pgNotNull: boolean;
  /** numeric(p,s) / timestamp(p): what Postgres would round away (see values/fits.ts). */
  modifier: Modifier | undefined;
  /** The temporal form was just read from the column's values: the install remembers it (plan/temporal-forms.ts). */
  formLearned?: { declaredType: string } | undefined;
}

/** A Postgres-only column that push sets to a constant (a `fill` or `scope` column SQLite lacks). */
export interface ConstantColumn {
  pg: string;
  castType: string;
  value: string;
}

/** A SQLite column that push fills (and writes back) when it is NULL. */
export interface LocalFill {
  column: ColumnPlan;
  value: string;
}

export interface ScopeFilter {
  pg: string;
  castType: string;
  value: string;
  /** The synced column when SQLite has it (push checks it against the scope). */
  column: ColumnPlan | undefined;
}

export interface FkPlan {
  /** Child column (synced). */
  column: ColumnPlan;
  /** Config name of the parent table. */
  refTable: string;
  /** Parent's Postgres column the child references (its shared key). */
  refPg: string;
  /**
   * The parent keeps a local key (localPk) and the SQLite child stores that local id: values are
   * translated between the parent's local id (SQLite) and its shared id (Postgres).
   */
  translate: boolean;
  /** Declared in Postgres (so Postgres enforces it), not only in the config's fkMap. */
  enforced: boolean;
  /**
   * The parent's table and this one reference each other around a cycle (set by fkOrder), and
   * the parent's table has no scope: a pull of the cycle brings the parent in the same snapshot.
   */
  inCycle: boolean;
}

export interface TablePlan {
  config: TableConfig;
  name: string;
  sqliteName: string;
  /** What users see: `order_item`, or `OrderItem → order_item` when the names differ. */
  label: string;
  direction: Direction;
  conflict: ConflictPolicy;
  /** The shared identity: Postgres pk columns, with their SQLite counterparts (serverIdCol for localPk tables). */
  key: ColumnPlan[];
  /** SQLite columns that identify a row locally (the pk, or localPk). */
  localKey: string[];
  localPk: string | undefined;
  serverIdCol: ColumnPlan | undefined;
  /** Every synced column, key included. */
  columns: ColumnPlan[];
  updated: ColumnPlan | undefined;
  deleted: ColumnPlan | undefined;
  /** conflict "version": the version column, and what settles equal versions with different content. */
  version?: ColumnPlan | undefined;
  fallback?: FallbackPolicy | undefined;
  /** 'column': conflicts are settled per column against a base (engine/merge); 'row': whole rows. */
  merge?: 'row' | 'column';
  /** Columns whose concurrent changes add up (engine/merge/counters.ts). */
  counters?: ColumnPlan[];
  /** Synced rows never change: updates and deletes of them are refused and listed. */
  immutable?: boolean;
  constants: ConstantColumn[];
  localFills: LocalFill[];
  scope: ScopeFilter[];
  fks: FkPlan[];
  /** naturalKey columns: a new local row matching a cloud row on them adopts the cloud row's key. */
  naturalKey: ColumnPlan[];
  /** assignKey "cloud": the sequence that assigns keys to rows the till creates (push/cloud-keys.ts). */
  cloudKey?: CloudKeyPlan | undefined;
  pg: PgTableInfo;
  sqlite: SqliteTableInfo;
  /** Position in FK order (parents first). */
  order: number;
}

export interface CloudKeyPlan {
  /** Schema-qualified, quoted sequence name, for nextval(). */
  sequence: string;
}

export interface SyncPlan {
  schema: string;
  terminalId: string;
  tables: TablePlan[];
  byName: Map<string, TablePlan>;
  /** Non-fatal observations (FK cycles ...) for verify-schemas and logs. */
  warnings: string[];
}

/** A reason a table cannot be synced as configured. */
export interface PlanProblem {
  table: string;
  message: string;
  /** A statement or config change that fixes it, when there is an obvious one. */
  fix?: string;
}
