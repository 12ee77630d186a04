import { to as copyTo } from 'pg-copy-streams';
import type { PgClient } from './gateway.ts';

/**
 * Rows read with `COPY (SELECT …) TO STDOUT` (text format), kept as the raw COPY text of the page
 * and split into column texts only as they are used (eachRow): `null` for SQL NULL.
 *
 * Why not pg's row objects: for a first pull of a million rows, pg builds a message object, a
 * fields array and a result array per row. COPY sends the same texts (the SELECT casts every
 * column `::text`, so they are exactly what `col::text` returns) with only the COPY escapes on
 * top. A page held as COPY text weighs its bytes (~125 a row for the benchmark's products),
 * where the same rows as JavaScript strings and arrays weigh three to four times that; the
 * strings are made one row at a time, as the row is written, and die young.
 */
export interface CopyPage {
  /** Complete rows of COPY text, each ending in a newline. */
  data: Buffer;
  width: number;
  count: number;
}

/** Buffer's own utf8Slice: toString('utf8', start, end) without its argument checks (run once per value). */
type Sliceable = Buffer & { utf8Slice(start: number, end: number): string };

const TAB = 9;
const NEWLINE = 10;
const BACKSLASH = 92;

/**
 * Calls `fn` for each row of the page with its column texts, in one array reused from row to row
 * (copy what you keep). Raw tabs and newlines only ever separate: inside a value COPY writes them
 * as \t and \n, and no byte of a multi-byte UTF-8 character is below 0x80. Separators are found
 * with Buffer#indexOf (memchr), not a loop over every byte; a value is unescaped only when a
 * backslash falls inside it.
 */
export function eachRow(page: CopyPage, fn: (row: Array<string | null>, index: number) => void): void {
  const buf = page.data as Sliceable;
  const width = page.width;
  const row = new Array<string | null>(width).fill(null);
  const length = buf.length;
  let backslash = nextBackslash(buf, 0);
  let start = 0;
  let index = 0;
  while (start < length) {
    const newline = buf.indexOf(NEWLINE, start);
    if (newline < 0) throw new Error('COPY data ended inside a row');
    for (let column = 0; column < width; column++) {
      let end = buf.indexOf(TAB, start);
      if (column < width - 1) {
        if (end < 0 || end > newline) throw new Error(`COPY row has ${column + 1} columns, expected ${width}`);
      } else {
        if (end >= 0 && end < newline) throw new Error(`COPY row has more than ${width} columns`);
        end = newline;
      }
      if (backslash < start) backslash = nextBackslash(buf, start);
      row[column] = backslash >= end ? buf.utf8Slice(start, end) : end - start === 2 && buf[start + 1] === 78 /* N */ ? null : unescape(buf, start, end);
      start = end + 1;
    }
    fn(row, index++);
  }
}

function nextBackslash(buf: Buffer, from: number): number {
  const at = buf.indexOf(BACKSLASH, from);
  return at < 0 ? Infinity : at;
}

/** The column texts of the page's last row (a fresh array), or undefined for an empty page. */
export function lastRow(page: CopyPage): Array<string | null> | undefined {
  if (page.count === 0) return undefined;
  // The newline before the last row's own (none: the page is that one row).
  const from = page.data.length >= 2 ? page.data.lastIndexOf(NEWLINE, page.data.length - 2) + 1 : 0;
  let out: Array<string | null> | undefined;
  eachRow({ data: page.data.subarray(from), width: page.width, count: 1 }, (row) => (out = [...row]));
  return out;
}

const SIMPLE: Record<number, number> = { 98: 8, 102: 12, 110: 10, 114: 13, 116: 9, 118: 11 }; // \b \f \n \r \t \v

const isOctal = (b: number | undefined) => b !== undefined && b >= 48 && b <= 55;
const hexValue = (b: number | undefined) =>
  b === undefined ? -1 : b >= 48 && b <= 57 ? b - 48 : b >= 97 && b <= 102 ? b - 87 : b >= 65 && b <= 70 ? b - 55 : -1;

/**
 * One escaped value, decoded as Postgres' COPY FROM would: \b \f \n \r \t \v, \ooo (octal) and
 * \xhh (hex) byte values, and a backslash before any other character stands for that character.
 * Decoded as bytes first, so escaped bytes of a multi-byte character join up again.
 */
export function unescape(buf: Buffer, start: number, end: number): string {
  const out = Buffer.allocUnsafe(end - start);
  let n = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b !== BACKSLASH || i + 1 >= end) {
      out[n++] = b;
      continue;
    }
    const c = buf[++i]!;
    if (SIMPLE[c] !== undefined) out[n++] = SIMPLE[c];
    else if (isOctal(c)) {
      let v = c - 48;
      for (let k = 0; k < 2 && i + 1 < end && isOctal(buf[i + 1]); k++) v = v * 8 + (buf[++i]! - 48);
      out[n++] = v & 0xff;
    } else if (c === 120 /* x */ && i + 1 < end && hexValue(buf[i + 1]) >= 0) {
      let v = hexValue(buf[++i]);
      if (i + 1 < end && hexValue(buf[i + 1]) >= 0) v = v * 16 + hexValue(buf[++i]);
      out[n++] = v;
    } else out[n++] = c;
  }
  return out.toString('utf8', 0, n);
}

/**
 * Runs `COPY (<select>) TO STDOUT` on `client` and returns its rows as one page. `select` must
 * not take parameters (COPY has none): values in it are literals. A failing COPY rejects (the
 * stream's 'error' ends the iteration).
 */
export async function copyOut(client: PgClient, select: string, width: number): Promise<CopyPage> {
  const chunks: Buffer[] = [];
  for await (const chunk of client.query(copyTo(`COPY (${select}) TO STDOUT`)) as AsyncIterable<Buffer>) chunks.push(chunk);
  const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  let count = 0;
  for (let i = data.indexOf(NEWLINE); i >= 0; i = data.indexOf(NEWLINE, i + 1)) count++;
  if (data.length > 0 && data[data.length - 1] !== NEWLINE) throw new Error('COPY data ended inside a row');
  return { data, width, count };
}
