import { describe, expect, it } from 'vitest';
import { isPermissionDenied, parseDenied, tablePrivilegesNeeded } from '../../src/db/postgres/privileges.ts';

// The object a Postgres permission error names, read from its message (PostgreSQL 13-18 wording).
describe('parseDenied', () => {
  it('reads the kind and name of a "permission denied for …" message', () => {
    expect(parseDenied('permission denied for database shop')).toEqual({ kind: 'database', name: 'shop' });
    expect(parseDenied('permission denied for schema possync')).toEqual({ kind: 'schema', name: 'possync' });
    expect(parseDenied('permission denied for table order_items')).toEqual({ kind: 'table', name: 'order_items' });
    // PostgreSQL before 15 said "relation".
    expect(parseDenied('permission denied for relation order_items')).toEqual({ kind: 'table', name: 'order_items' });
    expect(parseDenied('permission denied for sequence orders_id_seq')).toEqual({ kind: 'sequence', name: 'orders_id_seq' });
    expect(parseDenied('permission denied for function capture_0a1b')).toEqual({ kind: 'function', name: 'capture_0a1b' });
  });

  it('reads "must be owner of …", including two-word object types', () => {
    expect(parseDenied('must be owner of table notes')).toEqual({ kind: 'owner', objectType: 'table', name: 'notes' });
    expect(parseDenied('must be owner of relation notes')).toEqual({ kind: 'owner', objectType: 'relation', name: 'notes' });
    expect(parseDenied('must be owner of function capture_0a1b')).toEqual({ kind: 'owner', objectType: 'function', name: 'capture_0a1b' });
    expect(parseDenied('must be owner of materialized view totals')).toEqual({ kind: 'owner', objectType: 'materialized view', name: 'totals' });
  });

  it('keeps names with spaces and quotes whole, and anything else is "other"', () => {
    expect(parseDenied('permission denied for table Order "Items"; x')).toEqual({ kind: 'table', name: 'Order "Items"; x' });
    expect(parseDenied('permission denied to create role')).toEqual({ kind: 'other' });
    expect(parseDenied('')).toEqual({ kind: 'other' });
  });
});

describe('isPermissionDenied and tablePrivilegesNeeded', () => {
  it('is SQLSTATE 42501 only', () => {
    expect(isPermissionDenied(Object.assign(new Error('permission denied for table t'), { code: '42501' }))).toBe(true);
    expect(isPermissionDenied(Object.assign(new Error('deadlock'), { code: '40P01' }))).toBe(false);
    expect(isPermissionDenied(new Error('permission denied for table t'))).toBe(false);
  });

  it('asks TRIGGER only of synced tables, and only to install', () => {
    expect(tablePrivilegesNeeded('public', 'sync')).toEqual(['SELECT', 'INSERT', 'UPDATE', 'DELETE']);
    expect(tablePrivilegesNeeded('public', 'install')).toEqual(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRIGGER']);
    expect(tablePrivilegesNeeded('possync', 'install')).toEqual(['SELECT', 'INSERT', 'UPDATE', 'DELETE']);
  });
});
