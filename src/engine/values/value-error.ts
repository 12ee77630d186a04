/**
 * ValueError marks a value that cannot be represented exactly on the other side. The engine turns
 * it into a "bad row" report; the codec never alters a value silently to make it fit.
 */
export class ValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValueError';
  }
}

/** Builds the ValueError for `value` in a column of `family`, with a short readable preview. */
export function rejectValue(family: string, value: unknown, reason?: string): ValueError {
  const why = reason === undefined ? '' : ` (${reason})`;
  return new ValueError(`${family} column cannot hold ${preview(value)}${why}`);
}

const PREVIEW_LENGTH = 60;

function preview(value: unknown): string {
  if (typeof value === 'string') {
    const short = value.length > PREVIEW_LENGTH ? `${value.slice(0, PREVIEW_LENGTH)}…` : value;
    return JSON.stringify(short);
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `a ${value.length}-byte blob`;
  return String(value);
}

/** Runs `convert`, returning `fallback` if it throws ValueError (other errors propagate). */
export function orElse<T>(convert: () => T, fallback: T): T {
  try {
    return convert();
  } catch (err) {
    if (err instanceof ValueError) return fallback;
    throw err;
  }
}

/** -1, 0 or 1 for any pair of comparable primitives. */
export function order<T extends string | number | bigint>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
