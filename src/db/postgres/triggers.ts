import type { PgGateway } from './gateway.ts';

/**
 * BEFORE INSERT row triggers: they run before Postgres checks NOT NULL, so one may fill a column
 * that a pushed row leaves out (a tsvector, a computed code). Whether it really sets the column
 * cannot be known without running it; what can be known is whether its definition names the
 * column (in the function's source or in the trigger's arguments, as tsvector_update_trigger
 * takes them). Messages say exactly that much.
 */
export interface BeforeInsertTrigger {
  name: string;
  function: string;
  /** Function source and trigger arguments, searched for column names. */
  text: string;
}

/** Enabled, user-defined BEFORE INSERT ... FOR EACH ROW triggers of the named tables. */
export async function beforeInsertTriggers(pg: Pick<PgGateway, 'query'>, schema: string, tables: readonly string[]): Promise<Map<string, BeforeInsertTrigger[]>> {
  // tgtype bits: 1 = ROW, 2 = BEFORE, 4 = INSERT (pg_trigger.h).
  const rows = await pg.query<{ table_name: string; name: string; fn: string; source: string; args: string }>(
    `SELECT c.relname AS table_name, t.tgname AS name, p.proname AS fn, coalesce(p.prosrc, '') AS source,
            encode(t.tgargs, 'escape') AS args
       FROM pg_trigger t
       JOIN pg_class c ON c.oid = t.tgrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_proc p ON p.oid = t.tgfoid
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND NOT t.tgisinternal AND t.tgenabled <> 'D'
        AND t.tgtype & 7 = 7
      ORDER BY c.relname, t.tgname`,
    [schema, tables],
  );
  const out = new Map<string, BeforeInsertTrigger[]>();
  for (const r of rows) {
    const list = out.get(r.table_name) ?? [];
    list.push({ name: r.name, function: r.fn, text: `${r.source} ${r.args.replace(/\\000/g, ' ')}` });
    out.set(r.table_name, list);
  }
  return out;
}

/** The triggers whose definition names `column` (as a whole word, any case). */
export function triggersNaming(column: string, triggers: readonly BeforeInsertTrigger[]): BeforeInsertTrigger[] {
  const escaped = column.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const word = new RegExp(`(^|[^\\w$])${escaped}($|[^\\w$])`, 'i');
  return triggers.filter((t) => word.test(t.text));
}

/**
 * What happens to a pushed row that leaves out a NOT NULL column without a default, given the
 * table's BEFORE INSERT triggers: the honest sentence, and how sure it is.
 */
export function missingColumnOutcome(column: string, triggers: readonly BeforeInsertTrigger[]): { certain: 'refused' | 'filled' | 'unknown'; says: string } {
  const list = (ts: readonly BeforeInsertTrigger[]) => ts.map((t) => `"${t.name}" (${t.function})`).join(', ');
  if (triggers.length === 0) return { certain: 'refused', says: 'pushed rows are refused' };
  const naming = triggersNaming(column, triggers);
  if (naming.length > 0) {
    return {
      certain: 'filled',
      says: `BEFORE INSERT trigger ${list(naming)} names it, so pushed rows go through if it fills the column; a row it leaves NULL is refused by Postgres and held with the reason`,
    };
  }
  return { certain: 'unknown', says: `pushed rows are refused unless BEFORE INSERT trigger ${list(triggers)} sets it (its definition does not name the column)` };
}
