import type { ConflictPolicy, Direction } from './schema.ts';

export type { ConflictPolicy, Direction };

/** One table as the engine sees it: every default applied, every env: reference resolved. */
export interface TableConfig {
  name: string;
  sqliteName: string | undefined;
  pk: string[];
  updatedCol: string | undefined;
  createdCol: string | undefined;
  deletedCol: string | undefined;
  direction: Direction;
  conflict: ConflictPolicy;
  columnMap: Record<string, string>;
  localOnly: string[];
  localPk: string | undefined;
  serverIdCol: string | undefined;
  fill: Record<string, string>;
  scope: Record<string, string>;
  /** Postgres columns unique in the cloud that identify the same real-world row (empty: none). */
  naturalKey: string[];
}

export interface FkMapEntry {
  field: string;
  refTable: string;
}

export interface ResolvedConfig {
  /** Absolute path of the file the config came from. */
  configPath: string;
  sqlitePath: string;
  postgresUrl: string;
  postgresSchema: string;
  terminalId: string;
  batchSize: number;
  cron: string | undefined;
  retentionDays: number;
  naming: 'exact' | 'snake';
  localOnly: string[];
  tables: TableConfig[];
  fkMap: Record<string, FkMapEntry[]>;
}
