import { ValueError } from './value-error.ts';

/**
 * UTC offsets as written after a time: 'Z', '+HH', '+HHMM', '+HH:MM', and '+HH:MM:SS' (Postgres
 * prints seconds for historical local-mean-time zones).
 */
export const OFFSET_PATTERN = 'Z|[+-]\\d{2}(?::?\\d{2}){0,2}';

const OFFSET = /^([+-])(\d{2})(?::?(\d{2})(?::?(\d{2}))?)?$/;

/** Offset in seconds east of UTC; ValueError if malformed or out of range. */
export function parseOffset(text: string, maxHours = 23): number {
  if (text === 'Z') return 0;
  const match = OFFSET.exec(text);
  if (match === null) throw new ValueError(`bad UTC offset ${JSON.stringify(text)}`);
  const [, sign, hh = '0', mm = '0', ss = '0'] = match;
  const [hours, minutes, seconds] = [Number(hh), Number(mm), Number(ss)];
  if (hours > maxHours || minutes > 59 || seconds > 59) {
    throw new ValueError(`UTC offset ${JSON.stringify(text)} out of range`);
  }
  const total = hours * 3600 + minutes * 60 + seconds;
  return sign === '-' ? -total : total;
}

/** Postgres's spelling: '+05', '+05:30', '-03:30:15'. */
export function formatOffset(seconds: number): string {
  const sign = seconds < 0 ? '-' : '+';
  const abs = Math.abs(seconds);
  const two = (n: number): string => String(n).padStart(2, '0');
  const hours = two(Math.floor(abs / 3600));
  const minutes = Math.floor((abs % 3600) / 60);
  const secs = abs % 60;
  if (secs !== 0) return `${sign}${hours}:${two(minutes)}:${two(secs)}`;
  if (minutes !== 0) return `${sign}${hours}:${two(minutes)}`;
  return `${sign}${hours}`;
}
