import type { PullCheckpoint, PushCheckpoint } from '../checkpoints.ts';

/**
 * Checkpoints as people read them. Push: the last local change-log sequence number in Postgres;
 * pull: the Postgres transaction fence every applied change lies below.
 */
export function describePush(cp: PushCheckpoint | undefined): string {
  if (!cp) return 'none: the next push scans the table in full';
  if (cp.scan !== 'done') return `first full scan in progress (after key ${JSON.stringify(cp.scan.after)})`;
  return cp.seq === 0 ? 'full scan done, no changes since' : `up to local change #${cp.seq}`;
}

export function describePull(cp: PullCheckpoint | undefined): string {
  if (!cp) return 'none: the next pull resyncs the table in full';
  if (cp.scan) return `full resync in progress (after key ${JSON.stringify(cp.scan.after)}, fence xid ${cp.scan.fence})`;
  return `up to xid ${cp.xid}`;
}
