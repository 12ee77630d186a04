import type { HeldRow } from '../held.ts';
import type { Step } from '../result.ts';
import type { TablePlan } from '../plan/types.ts';

/**
 * Immutable tables (sales, payments): a row is final once both sides have it. Inserts sync; an
 * update or delete of a row the other side already has is refused, on either side: it is not
 * applied, it is held as 'rejected' with the reason (so `possync rejected` and status list it,
 * and every run says so again) until an admin undoes the edit or discards the entry. possync
 * cannot stop the edit itself, which the app made in its own database; it refuses to carry it.
 */
export function refuseImmutable(t: TablePlan, step: Step, what: 'update' | 'delete', key: string, display: string, detail?: string): HeldRow {
  const side = step === 'push' ? 'the till' : 'the cloud';
  const other = step === 'push' ? 'cloud' : 'till';
  return {
    side: step,
    table: t.name,
    key,
    kind: 'rejected',
    reason: `${display}: table ${t.name} is immutable: ${side}'s ${what} of a synced row was refused and not applied to the ${other} (undo it there, or discard this entry)`,
    display,
    detail,
  };
}
