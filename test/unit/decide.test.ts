import { describe, expect, it } from 'vitest';
import { decide, mergeForUpdate, type DecideTable } from '../../src/engine/decide.ts';
import type { ColumnPlan } from '../../src/engine/plan/types.ts';

const col = (pg: string, family: ColumnPlan['family']): ColumnPlan => ({ pg, sqlite: pg, family, castType: 'text', codec: { family, affinity: 'TEXT' }, pgNotNull: false, modifier: undefined });
const updated = col('updated_at', 'timestamptz');
const columns = [col('id', 'uuid'), col('name', 'text'), col('price', 'numeric'), updated];
const lww: DecideTable = { columns, updated, conflict: 'lww' };
const row = (name: string, at: string, price = '1.50') => ({ id: 'k', name, price, updated_at: at });
const OLD = '2026-11-01T00:00:00.000000Z';
const NEW = '2026-11-02T00:00:00.000000Z';

describe('decide', () => {
  it('applies anything uncontested, whatever the timestamps say', () => {
    expect(decide(lww, 'push', { row: row('a', OLD) }, { row: row('b', NEW) }, false)).toEqual({ action: 'update', conflict: false });
    expect(decide(lww, 'pull', { row: row('a', OLD) }, {}, false)).toEqual({ action: 'insert', conflict: false });
    expect(decide(lww, 'pull', {}, { row: row('a', OLD) }, false)).toEqual({ action: 'delete', conflict: false });
  });

  it('treats equal values in another spelling as unchanged (12.5 = 12.50, µs vs ms)', () => {
    const a = row('a', '2026-11-01T00:00:00.123456Z', '12.50');
    const b = row('a', '2026-11-01T00:00:00.123000Z', '12.5');
    expect(decide(lww, 'push', { row: a }, { row: b }, true)).toEqual({ action: 'unchanged', conflict: false });
  });

  it('LWW: the newer version wins a contested row; ties go to the server', () => {
    expect(decide(lww, 'push', { row: row('local', NEW) }, { row: row('server', OLD) }, true)).toEqual({ action: 'update', conflict: true, winner: 'local' });
    expect(decide(lww, 'push', { row: row('local', OLD) }, { row: row('server', NEW) }, true)).toEqual({ action: 'keep', conflict: true, winner: 'server' });
    expect(decide(lww, 'push', { row: row('local', NEW) }, { row: row('server', NEW) }, true)).toEqual({ action: 'keep', conflict: true, winner: 'server' });
    expect(decide(lww, 'pull', { row: row('server', NEW) }, { row: row('local', NEW) }, true)).toEqual({ action: 'update', conflict: true, winner: 'server' });
  });

  it('LWW between a delete and an update compares the delete time', () => {
    expect(decide(lww, 'push', { deletedAt: NEW }, { row: row('server', OLD) }, true)).toMatchObject({ action: 'delete', winner: 'local' });
    expect(decide(lww, 'push', { deletedAt: OLD }, { row: row('server', NEW) }, true)).toMatchObject({ action: 'keep', winner: 'server' });
    expect(decide(lww, 'pull', { row: row('server', NEW) }, { deletedAt: OLD }, true)).toMatchObject({ action: 'insert', winner: 'server' });
  });

  it('server-wins and client-wins ignore timestamps', () => {
    const sw: DecideTable = { ...lww, conflict: 'server-wins' };
    const cw: DecideTable = { ...lww, conflict: 'client-wins', updated: undefined };
    expect(decide(sw, 'push', { row: row('local', NEW) }, { row: row('server', OLD) }, true)).toMatchObject({ action: 'keep', winner: 'server' });
    expect(decide(cw, 'push', { row: row('local', OLD) }, { row: row('server', NEW) }, true)).toMatchObject({ action: 'update', winner: 'local' });
    expect(decide(cw, 'pull', { row: row('server', NEW) }, { row: row('local', OLD) }, true)).toMatchObject({ action: 'keep', winner: 'local' });
  });

  it('mergeForUpdate keeps the receiving side spelling of equal values', () => {
    const incoming = row('new name', '2026-11-01T00:00:00.123000Z', '12.5');
    const existing = row('old name', '2026-11-01T00:00:00.123456Z', '12.50');
    expect(mergeForUpdate(columns, incoming, existing)).toEqual({ id: 'k', name: 'new name', price: '12.50', updated_at: '2026-11-01T00:00:00.123456Z' });
  });
});
