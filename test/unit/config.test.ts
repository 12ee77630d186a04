import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.ts';
import { configJsonSchema } from '../../src/config/json-schema.ts';
import { toSnake } from '../../src/config/naming.ts';
import { PossyncError } from '../../src/errors.ts';

const base = { sqlite: { path: 'till.sqlite' }, postgres: { url: 'postgresql://u:p@h/db' }, terminalId: 't1', tables: [{ name: 'a', pk: 'id', updatedCol: 'updated_at' }] };

function problems(raw: unknown, env: NodeJS.ProcessEnv = {}): string {
  try {
    resolveConfig(raw, '/x/possync.config.json', env);
  } catch (err) {
    expect(err).toBeInstanceOf(PossyncError);
    expect((err as PossyncError).exitCode).toBe(2);
    return (err as PossyncError).message;
  }
  throw new Error('expected a config error');
}

describe('config', () => {
  it('applies defaults and resolves env: references', () => {
    const c = resolveConfig(
      { tables: [{ name: 'a', pk: ['x', 'y'], conflict: 'server-wins' }] },
      '/srv/pos/possync.config.json',
      { SQLITE_PATH: 'data/till.sqlite', DATABASE_URL: 'postgres://cloud/db', TERMINAL_ID: 'till-7', SYNC_BATCH_SIZE: '250' },
    );
    expect(c.sqlitePath).toBe('/srv/pos/data/till.sqlite');
    expect(c.postgresUrl).toBe('postgres://cloud/db');
    expect(c.terminalId).toBe('till-7');
    expect(c.batchSize).toBe(250);
    expect(c.postgresSchema).toBe('public');
    expect(c.retentionDays).toBe(30);
    expect(c.tables[0]).toMatchObject({ pk: ['x', 'y'], direction: 'both', conflict: 'server-wins' });
  });

  it('reports every problem at once, with its path', () => {
    const msg = problems({ ...base, batchSize: 0, tables: [{ name: 'a', pk: 'id' }, { name: 'b', pk: 'id', direction: 'sideways', conflikt: 'lww' }] });
    expect(msg).toMatch(/problems/);
    expect(msg).toContain('batchSize');
    expect(msg).toContain('tables[0].updatedCol');
    expect(msg).toContain('tables[1].direction');
    expect(msg).toContain('conflikt');
  });

  it('rejects unknown keys so a typo cannot silently disable a feature', () => {
    expect(problems({ ...base, locallOnly: ['x'] })).toContain('locallOnly');
  });

  it('names a missing environment variable and never prints a URL password', () => {
    expect(problems({ ...base, terminalId: 'env:MY_TILL' })).toContain('MY_TILL is not set');
    const msg = problems({ ...base, postgres: { url: 'mysql://root:hunter2@db/x' } });
    expect(msg).not.toContain('hunter2');
  });

  it('checks fkMap and duplicate tables against the table list', () => {
    const msg = problems({ ...base, tables: [...base.tables, ...base.tables], fkMap: { a: [{ field: 'b_id', refTable: 'nowhere' }] } });
    expect(msg).toContain('listed twice');
    expect(msg).toContain('nowhere');
  });

  it('accepts conflict "manual" without updatedCol, with either merge, and lists it among the policies', () => {
    const c = resolveConfig({ ...base, tables: [{ name: 'a', pk: 'id', conflict: 'manual' }, { name: 'b', pk: 'id', conflict: 'manual', merge: 'column' }] }, '/x/possync.config.json', {});
    expect(c.tables.map((t) => [t.conflict, t.merge ?? 'row'])).toEqual([
      ['manual', 'row'],
      ['manual', 'column'],
    ]);
    expect(problems({ ...base, tables: [{ name: 'a', pk: 'id', conflict: 'manual', fallback: 'lww' }] })).toMatch(/versionCol and fallback only apply with conflict "version"/);
    expect(JSON.stringify(configJsonSchema())).toContain('"manual"');
  });

  it('publishes a JSON Schema', () => {
    const schema = configJsonSchema();
    expect(schema).toMatchObject({ type: 'object', additionalProperties: false });
    expect(JSON.stringify(schema)).toContain('updatedCol');
  });

  it('converts names for the snake convention', () => {
    expect(toSnake('OrderItem')).toBe('order_item');
    expect(toSnake('ProductId')).toBe('product_id');
    expect(toSnake('HTTPStatus')).toBe('http_status');
    expect(toSnake('createdAt')).toBe('created_at');
    expect(toSnake('Address2Line')).toBe('address2_line');
    expect(toSnake('already_snake')).toBe('already_snake');
  });
});
