import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.ts';
import { isRecoveryConflict, lagSeconds, laterLsn, lsnValue, rebuildSnapshot } from '../../src/db/postgres/read-replica.ts';
import { PossyncError } from '../../src/errors.ts';

const base = { sqlite: { path: 'till.sqlite' }, postgres: { url: 'postgresql://u:p@primary/db' }, terminalId: 't1', tables: [{ name: 'a', pk: 'id', updatedCol: 'updated_at' }] };

describe('standby snapshot rebuild', () => {
  it('lists every xid in [xmin, xmax) whose entries the snapshot cannot see as in progress', () => {
    expect(rebuildSnapshot(755n, 757n, [756n], false)).toBe('755:757:755');
    expect(rebuildSnapshot(10n, 15n, [11n, 13n], false)).toBe('10:15:10,12,14');
    expect(rebuildSnapshot(10n, 13n, [10n, 11n, 12n], false)).toBe('10:13:');
    expect(rebuildSnapshot(10n, 10n, [], false)).toBe('10:10:');
  });

  it('lowers xmax where the list of seen xids was cut short: what lies above is read again', () => {
    expect(rebuildSnapshot(10n, 1000n, [11n, 12n], true)).toBe('10:13:10');
  });

  it('caps the in-progress list at 1,000 xids by lowering xmax', () => {
    const snap = rebuildSnapshot(1n, 1_000_000n, [], false);
    const [xmin, xmax, xip] = snap.split(':');
    expect(xmin).toBe('1');
    expect(xmax).toBe('1001');
    expect(xip!.split(',')).toHaveLength(1000);
  });
});

describe('WAL positions', () => {
  it('compares pg_lsn texts numerically', () => {
    expect(lsnValue('0/174CA78')).toBe(0x174ca78n);
    expect(lsnValue('1/0') > lsnValue('0/FFFFFFFF')).toBe(true);
    expect(laterLsn('0/A', '0/9')).toBe('0/A');
    expect(laterLsn(undefined, '0/9')).toBe('0/9');
    expect(() => lsnValue('nope')).toThrow();
  });

  it('a standby that replayed up to the primary position is not behind, whatever its last commit time', () => {
    expect(lagSeconds({ inRecovery: true, replayLsn: '0/20', sinceLastReplaySeconds: 900 }, '0/20')).toBe(0);
    expect(lagSeconds({ inRecovery: true, replayLsn: '0/10', sinceLastReplaySeconds: 42 }, '0/20')).toBe(42);
  });
});

describe('recovery conflicts', () => {
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });
  it('are 40001 / 40P01 with "conflict with recovery"; an ordinary serialization failure is not one', () => {
    expect(isRecoveryConflict(pgError('40001', 'canceling statement due to conflict with recovery'))).toBe(true);
    expect(isRecoveryConflict(pgError('40001', 'terminating connection due to conflict with recovery'))).toBe(true);
    expect(isRecoveryConflict(pgError('40P01', 'canceling statement due to conflict with recovery'))).toBe(true);
    expect(isRecoveryConflict(pgError('40001', 'could not serialize access due to concurrent update'))).toBe(false);
    expect(isRecoveryConflict(new Error('Connection terminated unexpectedly'))).toBe(false);
  });
});

describe('config: postgres.readUrl', () => {
  it('is off by default, and takes an env: reference and a lag bound', () => {
    expect(resolveConfig(base, '/x/possync.config.json', {}).postgresRead).toBeUndefined();
    const c = resolveConfig({ ...base, postgres: { ...base.postgres, readUrl: 'env:READ_URL', readMaxLagSeconds: 5 } }, '/x/possync.config.json', { READ_URL: 'postgres://u:p@standby/db' });
    expect(c.postgresRead).toEqual({ url: 'postgres://u:p@standby/db', maxLagMs: 5000 });
    expect(resolveConfig({ ...base, postgres: { ...base.postgres, readUrl: 'postgres://s/db' } }, '/x/possync.config.json', {}).postgresRead?.maxLagMs).toBe(30_000);
  });

  it('rejects a readUrl that is not a postgres URL and a lag bound that is not positive, in one message', () => {
    try {
      resolveConfig({ ...base, postgres: { ...base.postgres, readUrl: 'mysql://u:secret@h/db', readMaxLagSeconds: 'env:LAG' } }, '/x/possync.config.json', { LAG: '0' });
      throw new Error('expected a config error');
    } catch (err) {
      expect(err).toBeInstanceOf(PossyncError);
      const message = (err as PossyncError).message;
      expect(message).toContain('postgres.readUrl: "mysql://u:***@h/db" is not a postgres:// or postgresql:// URL');
      expect(message).toContain('postgres.readMaxLagSeconds: "0" is not a positive number of seconds');
      expect(message).not.toContain('secret');
    }
  });
});
