import type { TableConfig } from '../../config/types.ts';
import type { PgTableInfo } from '../../db/postgres/introspect.ts';
import { familyOf } from '../values/codec.ts';
import { finding, type Finding } from './finding.ts';

/**
 * Integer keys assigned on both sides collide: a till and the cloud (or two tills) each insert
 * "order 42", and one overwrites the other. Safe when the table syncs one way only, keeps a
 * local key with a shared id (localPk + serverIdCol), or lets the cloud's sequence assign keys
 * to the rows the till creates (assignKey "cloud", for serial and identity keys).
 */
export function keyFindings(table: TableConfig, pg: PgTableInfo): Finding[] {
  if (table.direction !== 'both' || table.localPk !== undefined || table.assignKey === 'cloud') return [];
  const integers = table.pk.filter((k) => {
    const col = pg.columns.find((c) => c.name === k);
    return col !== undefined && familyOf({ dataType: col.dataType, udtName: col.udtName, elementUdtName: col.elementUdtName }).family === 'int';
  });
  if (integers.length === 0) return [];
  const serial = integers.length === 1 && table.pk.length === 1 && pg.columns.find((c) => c.name === integers[0])?.sequence !== undefined;
  const fix = serial
    ? `set "assignKey": "cloud" on "${table.name}": rows the till creates take their key from the cloud's sequence when pushed, and the till re-keys them (no schema change); or keep the integer as a local key with "localPk" and "serverIdCol"`
    : `keep the integer as a local key and sync a UUID: set "localPk": "<sqlite integer column>" and "serverIdCol": "<sqlite text column>" with a uuid pk in Postgres, make the key serial or identity in Postgres and set "assignKey": "cloud", or make the table "direction": "push" or "pull"`;
  return [
    finding(
      'warning',
      table.name,
      'integer-key-both-ways',
      `"${table.name}" is synced both ways with an integer key (${integers.join(', ')}): a till and the cloud can insert the same number independently, and one row would overwrite the other`,
      fix,
    ),
  ];
}
