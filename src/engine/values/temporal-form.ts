import type { Family, SqliteValue, TemporalForm } from './types.ts';
import { affinityOf } from './affinity.ts';

/**
 * Guesses how a SQLite application stores a temporal column, so values written back look like
 * the ones it wrote. Each sample votes; the most common kind wins (first seen on a tie).
 */
type Vote = TemporalForm | 'epoch';

const ISO_WITH_T = /^\d{4}-\d{2}-\d{2}T/;
const SQLITE_DATETIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}/;
const TRAILING_ZONE = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

function voteOf(sample: SqliteValue): Vote | undefined {
  if (typeof sample === 'bigint' || typeof sample === 'number') return 'epoch';
  if (typeof sample !== 'string') return undefined;
  const text = sample.trim();
  // A zone other than Z is still zoned text; we write it back as UTC with 'Z'.
  if (ISO_WITH_T.test(text)) return TRAILING_ZONE.test(text.slice(10)) ? 'iso-ms-z' : 'iso-ms';
  if (SQLITE_DATETIME.test(text)) return 'sqlite-datetime';
  return undefined; // bare dates and anything unreadable say nothing about the time format
}

/** Epoch samples are milliseconds if any is 1e11 or more (1e11 seconds is year 5138). */
function epochForm(samples: SqliteValue[]): TemporalForm {
  const isMillis = (v: SqliteValue): boolean =>
    typeof v === 'bigint' ? v >= 10n ** 11n || v <= -(10n ** 11n) : typeof v === 'number' && Math.abs(v) >= 1e11;
  return samples.some(isMillis) ? 'epoch-ms' : 'epoch-s';
}

function fallbackForm(family: Family, declaredType: string): TemporalForm {
  if (affinityOf(declaredType) === 'INTEGER') return 'epoch-ms';
  return family === 'timestamp' ? 'iso-ms' : 'iso-ms-z';
}

export function detectTemporalForm(family: Family, declaredType: string, samples: SqliteValue[]): TemporalForm {
  const counts = new Map<Vote, number>();
  for (const sample of samples) {
    const vote = voteOf(sample);
    if (vote !== undefined) counts.set(vote, (counts.get(vote) ?? 0) + 1);
  }
  let winner: Vote | undefined;
  let best = 0;
  for (const [vote, count] of counts) {
    if (count > best) [winner, best] = [vote, count];
  }
  if (winner === undefined) return fallbackForm(family, declaredType);
  return winner === 'epoch' ? epochForm(samples) : winner;
}
