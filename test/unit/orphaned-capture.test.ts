import { describe, expect, it } from 'vitest';
import { captureDdl } from '../../src/db/postgres/possync-schema.ts';
import { captureHashOf, loggedNameOf, type CaptureTriggerRow } from '../../src/db/postgres/capture-registry.ts';
import { dropStatements, orphansOf } from '../../src/engine/evolve/orphaned-capture.ts';

// Which capture trigger groups no till needs: read from the catalog rows that capture-registry.ts
// returns, with table names a config may hold (quotes, spaces, semicolons, unicode).

const HOSTILE = ['tags', 'we"ird; DROP TABLE x', 'with space', 'café ☕'];

/** The catalog rows a table's installed capture objects would give, as captureDdl makes them. */
function installed(schema: string, table: string, owns = true): CaptureTriggerRow[] {
  const objects = captureDdl(schema, table, ['id']);
  const comment = (objects.ddl.match(/COMMENT ON FUNCTION [^\n]* IS '((?:[^']|'')*)';/)?.[1] ?? '').replace(/''/g, "'");
  return objects.triggers.map((t) => ({ schema, table, trigger: t.name, fn: t.function, comment, ownsTable: owns, ownsFunction: owns }));
}

describe('orphaned capture', () => {
  it('reads the change-log name back from the capture function comment, whatever the table is called', () => {
    for (const name of HOSTILE) {
      const [row] = installed('public', name);
      expect(loggedNameOf(row!.comment)).toBe(`public.${name}`);
      expect(row!.fn).toBe(`capture_${captureHashOf(`public.${name}`)}`);
    }
    expect(loggedNameOf('some other comment')).toBeUndefined();
    expect(loggedNameOf(null)).toBeUndefined();
  });

  it('a group is orphaned only when neither a live till nor this one registers its table', () => {
    const triggers = HOSTILE.flatMap((n) => installed('public', n));
    const orphans = orphansOf({ registered: new Set(['public.tags']), triggers }, new Set(['public.with space']));
    expect(orphans.map((o) => o.name).sort()).toEqual(['public.café ☕', 'public.we"ird; DROP TABLE x']);
    for (const o of orphans) expect(o.triggers).toHaveLength(5);
    expect(orphansOf({ registered: new Set(HOSTILE.map((n) => `public.${n}`)), triggers }, new Set())).toEqual([]);
  });

  it('falls back to the function hash for objects whose comment it cannot read, and skips what it cannot place', () => {
    const rows = installed('public', 'tags').map((r) => ({ ...r, comment: null }));
    expect(orphansOf({ registered: new Set(), triggers: rows }, new Set()).map((o) => o.name)).toEqual(['public.tags']);
    const child = rows.map((r) => ({ ...r, table: 'tags_child' }));
    expect(orphansOf({ registered: new Set(), triggers: child }, new Set())).toEqual([]);
  });

  it('drops only when it owns every table, and quotes every name it drops', () => {
    const rows = [...installed('public', 'we"ird; DROP TABLE x'), ...installed('public', 'we"ird; DROP TABLE x', false).map((r) => ({ ...r, table: 'child' }))];
    const [o] = orphansOf({ registered: new Set(), triggers: rows }, new Set());
    expect(o!.droppable).toBe(false);
    expect(o!.relation).toBe('"public"."we""ird; DROP TABLE x"');
    const statements = dropStatements(o!);
    expect(statements).toContain('DROP TRIGGER IF EXISTS "possync_capture_ins" ON "public"."we""ird; DROP TABLE x";');
    expect(statements).toContain('DROP TRIGGER IF EXISTS "possync_capture_ins" ON "public"."child";');
    expect(statements.filter((s) => s.startsWith('DROP FUNCTION'))).toHaveLength(2);
    // For the owner's statements, every function, also those possync's role does not own.
    const notOwned = orphansOf({ registered: new Set(), triggers: installed('public', 'x', false) }, new Set())[0]!;
    expect(dropStatements(notOwned).filter((s) => s.startsWith('DROP FUNCTION'))).toEqual([]);
    expect(dropStatements(notOwned, true).filter((s) => s.startsWith('DROP FUNCTION'))).toHaveLength(2);
  });
});
