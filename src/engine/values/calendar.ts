/**
 * Proleptic Gregorian calendar helpers on UTC epoch milliseconds. Date is used for the day
 * arithmetic only, never for parsing (Date.parse is lenient and zone-dependent).
 */
export const DAY_MS = 86_400_000;

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Epoch ms of midnight UTC starting year-month-day (fields already validated). */
export function midnightMs(year: number, month: number, day: number): number {
  // Not Date.UTC: it maps years 0-99 to 1900-1999, and year 0044 is a valid date here.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime();
}

/** The supported range, years 0001-9999: what ISO 8601 text with four-digit years can say. */
export const MIN_MS = midnightMs(1, 1, 1);
export const MAX_MS = midnightMs(10000, 1, 1) - 1;

export interface Civil {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

export function civilOf(ms: number): Civil {
  const d = new Date(ms);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    millisecond: d.getUTCMilliseconds(),
  };
}

export function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** 'YYYY-MM-DD' of a civil date. */
export function dateText(c: Civil): string {
  return `${pad(c.year, 4)}-${pad(c.month, 2)}-${pad(c.day, 2)}`;
}

/** 'HH:MM:SS' of a civil time. */
export function clockText(c: Civil): string {
  return `${pad(c.hour, 2)}:${pad(c.minute, 2)}:${pad(c.second, 2)}`;
}
