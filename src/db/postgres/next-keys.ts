import { PossyncError } from '../../errors.ts';
import { pgIdent, pgTable } from '../quote.ts';
import type { Queryable } from './gateway.ts';

export interface SequenceKeyRef {
  schema: string;
  table: string;
  column: string;
  castType: string;
  /** Schema-qualified, quoted sequence name (introspect.ts `sequence`). */
  sequence: string;
}

const ROUNDS = 4;

/**
 * `n` new keys from the column's own sequence, as Postgres prints them. nextval is never rolled
 * back, so a key handed out here is never handed to anyone else, whatever happens next.
 *
 * A sequence that is behind the table (rows loaded with explicit ids, a restore without setval,
 * or pushes made before assignKey was set) hands out keys already in use: those are skipped and
 * more are drawn, a few rounds, then the run stops with the setval that fixes it.
 */
export async function nextKeys(q: Queryable, ref: SequenceKeyRef, n: number): Promise<string[]> {
  const out: string[] = [];
  const col = pgIdent(ref.column);
  for (let round = 0; out.length < n; round++) {
    if (round === ROUNDS) {
      throw new PossyncError('SYNC_FAILED', `the sequence ${ref.sequence} of ${ref.table}.${ref.column} hands out keys that rows of the table already have`, {
        hint: `move it past the table's keys: SELECT setval('${ref.sequence.replace(/'/g, "''")}', (SELECT max(${col}) FROM ${pgTable(ref.schema, ref.table)}));`,
      });
    }
    const { rows } = await q.query<{ k: string; taken: boolean }>(
      `SELECT d.k::text AS k, EXISTS (SELECT 1 FROM ${pgTable(ref.schema, ref.table)} t WHERE t.${col} = d.k::${ref.castType}) AS taken
         FROM (SELECT nextval($1::regclass) AS k FROM generate_series(1, $2::int)) d`,
      [ref.sequence, n - out.length],
    );
    out.push(...rows.filter((r) => !r.taken).map((r) => r.k));
  }
  return out;
}
