import { describe, expect, it } from 'vitest';
import { decide } from '../../src/engine/decide.ts';
import { mergeColumns, type MergeTable } from '../../src/engine/merge/column-merge.ts';
import type { OpenConflict } from '../../src/engine/manual/open-conflicts.ts';
import { differingColumns, settle, splitClash, targetRow } from '../../src/engine/manual/settle.ts';
import type { ColumnPlan } from '../../src/engine/plan/types.ts';

const col = (pg: string, family: ColumnPlan['family']): ColumnPlan => ({ pg, sqlite: pg, family, castType: 'text', codec: { family, affinity: 'TEXT' }, pgNotNull: false, modifier: undefined });
const id = col('id', 'uuid');
const updated = col('updated_at', 'timestamptz');
const stock = col('stock', 'int');
const columns = [id, col('name', 'text'), col('price', 'numeric'), col('note', 'text'), stock, updated];
const t: MergeTable = { columns, key: [id], updated, conflict: 'manual', counters: [stock] };
const OLD = '2026-11-01T00:00:00.000000Z';
const NEW = '2026-11-02T00:00:00.000000Z';
const base = { id: 'k', name: 'Tea', price: '2.50', note: null, stock: '10', updated_at: '2026-10-01T00:00:00.000000Z' };
const till = { ...base, name: 'Green tea', updated_at: OLD };
const cloud = { ...base, price: '2.75', updated_at: NEW };

const open = (over: Partial<OpenConflict> = {}): OpenConflict => ({
  table: 'items',
  key: '["k"]',
  lkey: '["k"]',
  display: 'items:k',
  till,
  cloud,
  columns: ['name', 'price', 'updated_at'],
  firstSeen: OLD,
  lastSeen: OLD,
  decision: null,
  setValues: null,
  decidedAt: null,
  ...over,
});

describe('conflict "manual"', () => {
  it('decide sets a contested row aside, whatever the stamps say; an uncontested one goes through', () => {
    expect(decide(t, 'push', { row: till }, { row: cloud }, true)).toEqual({ action: 'aside', conflict: true });
    expect(decide(t, 'pull', { row: cloud }, { row: till }, true)).toEqual({ action: 'aside', conflict: true });
    expect(decide(t, 'pull', {}, { row: till }, true)).toEqual({ action: 'aside', conflict: true }); // deleted in the cloud, edited here
    expect(decide(t, 'push', {}, { row: cloud }, true)).toEqual({ action: 'aside', conflict: true }); // deleted here, edited in the cloud
    expect(decide(t, 'push', { row: till }, { row: cloud }, false)).toEqual({ action: 'update', conflict: false });
    expect(decide(t, 'push', { row: till }, { row: till }, true)).toEqual({ action: 'unchanged', conflict: false });
  });

  it('column merge names only the clashing columns; a clash on updatedCol alone keeps the newer stamp', () => {
    const m = mergeColumns(t, base, { ...till, note: 'mine', stock: '8' }, { ...cloud, name: 'Sencha', stock: '15' });
    expect(m.clashing).toEqual(['name']);
    expect(m.winner).toBeUndefined();
    // The cloud's value stays in the clashing column; the rest merges (the counter adds up).
    expect(m.row).toMatchObject({ name: 'Sencha', price: '2.75', note: 'mine', stock: '13', updated_at: NEW });
    expect(mergeColumns(t, base, till, cloud)).toMatchObject({ clashing: [], row: { name: 'Green tea', price: '2.75', updated_at: NEW } });
  });

  it('splitClash: the till keeps its values in the clashing columns, the next base keeps the old base there', () => {
    const m = mergeColumns(t, base, { ...till, note: 'mine' }, { ...cloud, name: 'Sencha' });
    const split = splitClash(m.clashing, m.row, { ...till, note: 'mine' }, base);
    expect(split.till).toMatchObject({ name: 'Green tea', price: '2.75', note: 'mine' });
    expect(split.base).toMatchObject({ name: 'Tea', price: '2.75', note: 'mine' });
    // From there both sides differ from the base only in the clash.
    expect(mergeColumns(t, split.base, split.till, m.row).clashing).toEqual(['name']);
  });

  it('targetRow follows the decision; --set starts from the cloud (the till when the cloud deleted it)', () => {
    expect(targetRow(t, { decision: 'till', setValues: null }, till, cloud, undefined)).toBe(till);
    expect(targetRow(t, { decision: 'cloud', setValues: null }, till, cloud, undefined)).toBe(cloud);
    expect(targetRow(t, { decision: 'cloud', setValues: null }, till, undefined, undefined)).toBeUndefined();
    expect(targetRow(t, { decision: 'set', setValues: { note: 'x' } }, till, cloud, undefined)).toEqual({ ...cloud, note: 'x' });
    expect(targetRow(t, { decision: 'set', setValues: { note: 'x' } }, till, undefined, undefined)).toEqual({ ...till, note: 'x' });
    // With a base (column merge): only the clashing columns follow the decision.
    const l = { ...base, name: 'Green tea', note: 'mine' };
    const s = { ...base, name: 'Sencha', price: '2.75' };
    expect(targetRow(t, { decision: 'till', setValues: null }, l, s, base)).toMatchObject({ name: 'Green tea', note: 'mine', price: '2.75' });
    expect(targetRow(t, { decision: 'cloud', setValues: null }, l, s, base)).toMatchObject({ name: 'Sencha', note: 'mine', price: '2.75' });
  });

  it('settle: no decision stays aside; a decision holds unless the losing side changed the row again', () => {
    expect(settle(t, open(), till, cloud, undefined)).toEqual({ kind: 'aside', reopen: false });
    // Undecided, but the sides hold the same row again: it closes.
    expect(settle(t, open(), till, { ...till }, undefined)).toEqual({ kind: 'resolve', target: till });
    expect(settle(t, open({ cloud: null }), undefined, undefined, undefined)).toEqual({ kind: 'resolve', target: undefined });
    expect(settle(t, open({ decision: 'till' }), till, cloud, undefined)).toEqual({ kind: 'resolve', target: till });
    // The winning side's newer edit is what the admin chose.
    const newerTill = { ...till, note: 'later' };
    expect(settle(t, open({ decision: 'till' }), newerTill, cloud, undefined)).toEqual({ kind: 'resolve', target: newerTill });
    // The losing side's newer edit reopens it.
    expect(settle(t, open({ decision: 'till' }), till, { ...cloud, note: 'later' }, undefined)).toEqual({ kind: 'aside', reopen: true });
    expect(settle(t, open({ decision: 'cloud' }), newerTill, cloud, undefined)).toEqual({ kind: 'aside', reopen: true });
    expect(settle(t, open({ decision: 'set', setValues: { note: 'x' } }), newerTill, cloud, undefined)).toEqual({ kind: 'aside', reopen: true });
    // A run that stopped half way: the cloud already holds the target.
    expect(settle(t, open({ decision: 'till' }), till, till, undefined)).toEqual({ kind: 'resolve', target: till });
    expect(settle(t, open({ decision: 'set', setValues: { note: 'x' } }), till, { ...cloud, note: 'x' }, undefined)).toEqual({ kind: 'resolve', target: { ...cloud, note: 'x' } });
    // Deletes: keep the deleting side.
    expect(settle(t, open({ till: null, decision: 'till' }), undefined, cloud, undefined)).toEqual({ kind: 'resolve', target: undefined });
    expect(settle(t, open({ cloud: null, decision: 'cloud' }), till, undefined, undefined)).toEqual({ kind: 'resolve', target: undefined });
  });

  it('differingColumns lists the non-key columns that differ (none against a deleted row)', () => {
    expect(differingColumns(t, till, cloud)).toEqual(['name', 'price', 'updated_at']);
    expect(differingColumns(t, till, { ...till, price: '2.500' })).toEqual([]);
    expect(differingColumns(t, till, undefined)).toEqual([]);
  });
});
