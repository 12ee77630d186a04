import { captureCensus, SWEEP_EVERY_MINUTES, unregisteredTills } from '../../db/postgres/capture-registry.ts';
import { pgErrorCode, UNDEFINED_TABLE } from '../../db/postgres/errors.ts';
import type { PgGateway } from '../../db/postgres/gateway.ts';
import { dropStatements, orphansOf, syncedTables } from '../evolve/orphaned-capture.ts';
import type { SyncPlan } from '../plan/types.ts';
import { finding, type Finding } from './finding.ts';

/**
 * Cloud tables that carry possync capture triggers although no till seen within retentionDays
 * syncs them (evolve/orphaned-capture.ts): a note, with what the next run does about it.
 */
export async function orphanedCaptureFindings(pg: PgGateway, plan: SyncPlan, retentionDays: number): Promise<Finding[]> {
  let census;
  try {
    census = await captureCensus(pg.pool, retentionDays);
  } catch (err) {
    if (pgErrorCode(err) === UNDEFINED_TABLE) return []; // not installed yet
    throw err;
  }
  const orphans = orphansOf(census, new Set(Object.keys(syncedTables(plan))));
  if (orphans.length === 0) return [];
  const older = await unregisteredTills(pg.pool, retentionDays);
  const seen = `no till seen within ${retentionDays} day${retentionDays === 1 ? '' : 's'} syncs it`;
  return orphans.map((o) => {
    const head = `Postgres table ${o.name} carries possync capture triggers, but ${seen}`;
    if (older.length > 0) {
      const who = `till${older.length === 1 ? '' : 's'} ${older.join(', ')} run${older.length === 1 ? 's' : ''}`;
      return finding('info', null, 'capture-orphaned', `Postgres table ${o.name} carries possync capture triggers and no till registered it, but ${who} a possync that does not register its tables: capture stays until every till seen within ${retentionDays} days is upgraded`);
    }
    if (o.droppable) return finding('info', null, 'capture-orphaned', `${head}: the next run removes them and the table's change-log entries`);
    return finding(
      'info',
      null,
      'capture-orphaned',
      `${head}: possync's role may not drop them (only the table's owner may), so runs keep pruning the table's change-log entries (every ${SWEEP_EVERY_MINUTES} minutes at most)`,
      `run possync once as the table's owner, or: ${dropStatements(o, true).join(' ')}`,
    );
  });
}
