import { describe, expect, it } from 'vitest';
import { decide } from '../../src/engine/decide.ts';
import { mergeColumns, isMerge, type MergeTable } from '../../src/engine/merge/column-merge.ts';
import { decimalSum } from '../../src/engine/merge/counters.ts';
import type { ColumnPlan } from '../../src/engine/plan/types.ts';

const col = (pg: string, family: ColumnPlan['family']): ColumnPlan => ({ pg, sqlite: pg, family, castType: 'text', codec: { family, affinity: 'TEXT' }, pgNotNull: false, modifier: undefined });
const id = col('id', 'uuid');
const updated = col('updated_at', 'timestamptz');
const stock = col('stock', 'numeric');
const version = col('version', 'int');
const columns = [id, col('name', 'text'), col('price', 'numeric'), stock, version, updated];
const t: MergeTable = { columns, key: [id], updated, conflict: 'lww', counters: [stock] };
const OLD = '2026-11-01T00:00:00.000000Z';
const NEW = '2026-11-02T00:00:00.000000Z';
const base = { id: 'k', name: 'Tea', price: '2.50', stock: '10.000', version: '1', updated_at: '2026-10-01T00:00:00.000000Z' };

describe('mergeColumns', () => {
  it('takes each side the columns only it changed', () => {
    const m = mergeColumns(t, base, { ...base, name: 'Green tea' }, { ...base, price: '2.75' });
    expect(m.row).toMatchObject({ name: 'Green tea', price: '2.75' });
    expect(m.clashing).toEqual([]);
    expect(isMerge(m)).toBe(true);
    expect(m.winner).toBeUndefined();
  });

  it('sends only clashing columns to the policy (lww: newer updatedCol; ties to the server)', () => {
    const local = { ...base, name: 'Local', price: '9.99', updated_at: NEW };
    const server = { ...base, name: 'Server', updated_at: OLD };
    expect(mergeColumns(t, base, local, server)).toMatchObject({ row: { name: 'Local', price: '9.99', updated_at: NEW }, clashing: ['name', 'updated_at'], winner: 'local' });
    const tie = mergeColumns(t, base, { ...local, updated_at: OLD }, server);
    expect(tie).toMatchObject({ row: { name: 'Server', price: '9.99' }, winner: 'server' });
    expect(mergeColumns({ ...t, conflict: 'client-wins' }, base, { ...base, name: 'L' }, { ...base, name: 'S' }).row.name).toBe('L');
  });

  it('adds counter deltas exactly: the server value plus the till delta', () => {
    const m = mergeColumns(t, base, { ...base, stock: '8.125' }, { ...base, stock: '15.5' });
    expect(m.row.stock).toBe('13.625');
    expect(m.clashing).toEqual([]);
    expect(decimalSum(['0.1', '0.2'], ['0.3'])).toBe('0.0');
    expect(decimalSum(['12345678901234567890.0001'], ['0.0002'])).toBe('12345678901234567889.9999');
    expect(decimalSum(['-2'], ['3.50'])).toBe('-5.50');
  });

  it('version: the higher version wins; equal versions with different content go to the fallback', () => {
    const v: MergeTable = { ...t, conflict: 'version', version, fallback: 'client-wins' };
    expect(mergeColumns(v, base, { ...base, name: 'L', version: '2' }, { ...base, name: 'S', version: '3' }).row.name).toBe('S');
    expect(mergeColumns(v, base, { ...base, name: 'L', version: '10' }, { ...base, name: 'S', version: '9' }).row.name).toBe('L');
    expect(mergeColumns(v, base, { ...base, name: 'L', version: '2' }, { ...base, name: 'S', version: '2' }).row.name).toBe('L');
    expect(decide({ ...v, fallback: 'server-wins' }, 'push', { row: { ...base, name: 'L', version: '2' } }, { row: { ...base, name: 'S', version: '2' } }, true)).toMatchObject({ winner: 'server' });
    expect(decide(v, 'pull', { row: { ...base, name: 'S', version: '1' } }, { row: { ...base, name: 'L', version: '2' } }, true)).toMatchObject({ action: 'keep', winner: 'local' });
  });
});
