import type { Queryable } from '../../db/postgres/gateway.ts';
import { CAPTURE_FORMAT, captureFormatOf, type CaptureFormat } from '../../db/postgres/possync-schema.ts';
import { PossyncError } from '../../errors.ts';

/**
 * Rolling upgrades: tills on possync N and N+1 sync one cloud at the same time, and the Postgres
 * capture objects are shared by all of them. The rule, per table, comparing the format of the
 * installed capture functions (their COMMENT) with this possync's own:
 *
 * - the same format: installed as this possync would (a hand edit or a damaged trigger is
 *   repaired, as always);
 * - an older format, or none recorded (from before formats were numbered): this possync
 *   upgrades them; older tills then find a newer format and leave it alone;
 * - a newer format whose `readers` this possync meets: left in place, and this till syncs on
 *   (the newer release promised that older readers understand the log it writes);
 * - a newer format this possync cannot read: it installs nothing and syncs nothing, and says the
 *   cloud expects a newer possync (status, and the run's error UPGRADE_REQUIRED).
 *
 * So objects only ever move forward, and two versions never reinstall each other's triggers.
 * Missing or disabled triggers are put back by whichever till sees them first (capture must not
 * stay off); a newer till then moves them forward again, once.
 */
let pinned: CaptureFormat | undefined;

/** The capture format this possync installs and reads. */
export function ownCaptureFormat(): CaptureFormat {
  return pinned ?? CAPTURE_FORMAT;
}

/** Makes this process act as another possync release (tests of rolling upgrades); undefined restores it. */
export function pinCaptureFormat(format: CaptureFormat | undefined): void {
  pinned = format;
}

export type FormatVerdict = 'own' | 'older' | 'newer' | 'unreadable';

export function judgeFormat(installed: CaptureFormat | undefined, own: CaptureFormat = ownCaptureFormat()): FormatVerdict {
  if (!installed || installed.version < own.version) return 'older';
  if (installed.version === own.version) return 'own';
  return own.version >= installed.readers ? 'newer' : 'unreadable';
}

export { captureFormatOf };

/** The newest capture format installed in the cloud, over all possync capture functions (status). */
export async function cloudCaptureFormat(q: Queryable): Promise<CaptureFormat | undefined> {
  const { rows } = await q.query<{ comment: string | null }>(
    `SELECT obj_description(p.oid, 'pg_proc') AS comment FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'possync' AND p.proname LIKE 'capture\\_%'`,
  );
  let newest: CaptureFormat | undefined;
  for (const r of rows) {
    const f = captureFormatOf(r.comment);
    if (f && (!newest || f.version > newest.version || (f.version === newest.version && f.readers > newest.readers))) newest = f;
  }
  return newest;
}

/** One line for status and notes about the cloud's capture format against this possync's. */
export function describeFormat(installed: CaptureFormat | undefined, own: CaptureFormat = ownCaptureFormat()): string | undefined {
  if (!installed) return undefined;
  switch (judgeFormat(installed, own)) {
    case 'own':
      return undefined;
    case 'older':
      return `the cloud's capture objects are format v${installed.version}; this possync (v${own.version}) upgrades them on its next run`;
    case 'newer':
      return `the cloud's capture objects are format v${installed.version}, from a newer possync; this possync (v${own.version}) reads them and leaves them in place`;
    case 'unreadable':
      return upgradeRequired(installed, own).message;
  }
}

export function upgradeRequired(installed: CaptureFormat, own: CaptureFormat = ownCaptureFormat(), tables: readonly string[] = []): PossyncError {
  const on = tables.length > 0 ? ` (on ${tables.join(', ')})` : '';
  return new PossyncError(
    'UPGRADE_REQUIRED',
    `the cloud expects a newer possync: its capture objects${on} are format v${installed.version}, readable by possync capture v${installed.readers} or newer, and this possync reads v${own.version}; it syncs nothing rather than misread the change log`,
    { hint: 'upgrade possync on this till (README "Changing schemas")' },
  );
}
