import { describe, expect, it } from 'vitest';
import { failureOf, type RunOutcome } from '../../src/daemon/outcome.ts';
import { emptyTableResult, type RunResult } from '../../src/engine/result.ts';
import { PossyncError } from '../../src/errors.ts';
import { noRetries } from '../../src/engine/retries.ts';

function ran(patch: Partial<RunResult>): RunOutcome {
  const now = new Date().toISOString();
  return { kind: 'ran', backup: undefined, result: { runId: 'r', terminalId: 't', direction: 'both', dryRun: false, startedAt: now, finishedAt: now, durationMs: 1, status: 'success', tables: [], retries: noRetries(), warnings: [], ...patch } };
}

describe('failureOf (what the daemon backs off from)', () => {
  it('classifies errors thrown before the run by their code', () => {
    expect(failureOf({ kind: 'error', error: new PossyncError('PG_UNREACHABLE', 'x') }, false)).toBe('unreachable');
    expect(failureOf({ kind: 'error', error: new PossyncError('SQLITE_UNREACHABLE', 'x') }, false)).toBe('unreachable');
    expect(failureOf({ kind: 'error', error: new PossyncError('SCHEMA_MISMATCH', 'x') }, false)).toBe('sync');
    expect(failureOf({ kind: 'error', error: new PossyncError('BACKUP_FAILED', 'x') }, false)).toBe('sync');
  });

  it('a connection lost mid-run (a failed result) is "unreachable"; other failed runs are "sync"', () => {
    expect(failureOf(ran({ status: 'failed', error: 'cannot reach PostgreSQL at postgresql://h/db: Connection terminated', errorCode: 'PG_UNREACHABLE' }), false)).toBe('unreachable');
    expect(failureOf(ran({ status: 'failed', error: 'cannot open SQLite database /x: disk I/O error', errorCode: 'SQLITE_UNREACHABLE' }), false)).toBe('unreachable');
    expect(failureOf(ran({ status: 'failed', error: 'something else', errorCode: 'INTERNAL' }), false)).toBe('sync');
  });

  it('a table error is a failure; rows waiting or refused are not', () => {
    const failedTable = { ...emptyTableResult('a', 'a', 'push'), status: 'error' as const, error: 'boom' };
    expect(failureOf(ran({ status: 'partial', tables: [failedTable] }), false)).toBe('sync');
    const waiting = { ...emptyTableResult('a', 'a', 'push'), deferred: 2 };
    expect(failureOf(ran({ status: 'partial', tables: [waiting] }), false)).toBeUndefined();
    expect(failureOf(ran({}), false)).toBeUndefined();
  });

  it('a table that failed only on rows another session kept locked (BLOCKED) backs off like an unreachable server', () => {
    const blocked = { ...emptyTableResult('a', 'a', 'push'), status: 'error' as const, error: 'rows of a stayed locked', errorCode: 'BLOCKED' as const };
    const broken = { ...emptyTableResult('b', 'b', 'push'), status: 'error' as const, error: 'boom' };
    expect(failureOf(ran({ status: 'partial', tables: [blocked] }), false)).toBe('unreachable');
    expect(failureOf(ran({ status: 'partial', tables: [blocked, broken] }), false)).toBe('sync');
  });

  it('being locked out or stopped by shutdown is not a failure', () => {
    expect(failureOf({ kind: 'locked', holder: 'x' }, false)).toBeUndefined();
    expect(failureOf(ran({ status: 'failed', error: 'run aborted' }), true)).toBeUndefined();
  });
});
