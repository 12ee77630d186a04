import { ValueError } from './value-error.ts';

/**
 * One-dimensional Postgres array literals ('{1,"a b",NULL}'), following array_in/array_out:
 * unquoted elements are trimmed and may use backslash escapes, unquoted NULL is SQL NULL, and
 * "NULL" in quotes is the string.
 */
export type ArrayItems = (string | null)[];

// Optional explicit bounds, as Postgres prints for a lower bound other than 1: '[0:2]={...}'.
const BOUNDS = /^\[\s*[+-]?\d+\s*:\s*[+-]?\d+\s*\]\s*=/;
// array_out's whitespace set (scanner_isspace), not Unicode's.
const SPACE = /^[ \t\n\r\v\f]$/;
const NEEDS_QUOTES = /[{}",\\ \t\n\r\v\f]/;

export function isArrayLiteral(text: string): boolean {
  const trimmed = text.trimStart();
  return trimmed.startsWith('{') || BOUNDS.test(trimmed);
}

export function parsePgArray(text: string): ArrayItems {
  return new ArrayReader(text).read();
}

class ArrayReader {
  private pos = 0;

  constructor(private readonly text: string) {}

  read(): ArrayItems {
    this.skipSpace();
    // JSON has nowhere to keep a lower bound other than 1, so explicit bounds are refused.
    if (BOUNDS.test(this.text.slice(this.pos))) throw this.fail('explicit array bounds are not supported');
    if (this.text[this.pos] !== '{') throw this.fail('expected "{"');
    this.pos++;
    const items: ArrayItems = [];
    this.skipSpace();
    if (this.text[this.pos] === '}') this.pos++;
    else this.readItems(items);
    this.skipSpace();
    if (this.pos !== this.text.length) throw this.fail('trailing characters');
    return items;
  }

  private readItems(items: ArrayItems): void {
    for (;;) {
      items.push(this.element());
      this.skipSpace();
      const c = this.text[this.pos++];
      if (c === '}') return;
      if (c !== ',') throw this.fail('expected "," or "}"');
    }
  }

  private element(): string | null {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === '"') return this.quoted();
    if (c === '{') throw this.fail('multi-dimensional arrays are not supported');
    return this.unquoted();
  }

  private quoted(): string {
    let out = '';
    this.pos++;
    for (;;) {
      const c = this.text[this.pos++];
      if (c === undefined) throw this.fail('unterminated quoted element');
      if (c === '"') return out;
      out += c === '\\' ? this.escaped() : c;
    }
  }

  private unquoted(): string | null {
    let out = '';
    let kept = 0; // length of `out` up to its last character that is not trailing whitespace
    let hadEscape = false;
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) throw this.fail('unterminated array');
      if (c === ',' || c === '}') break;
      if (c === '"' || c === '{') throw this.fail(`unexpected ${c} in unquoted element`);
      this.pos++;
      if (c === '\\') {
        out += this.escaped();
        kept = out.length; // an escaped space is data, not padding
        hadEscape = true;
      } else {
        out += c;
        if (!SPACE.test(c)) kept = out.length;
      }
    }
    out = out.slice(0, kept);
    if (out === '' && !hadEscape) throw this.fail('empty unquoted element');
    return !hadEscape && out.toUpperCase() === 'NULL' ? null : out;
  }

  private escaped(): string {
    const c = this.text[this.pos++];
    if (c === undefined) throw this.fail('backslash at end of input');
    return c;
  }

  private skipSpace(): void {
    while (SPACE.test(this.text[this.pos] ?? '')) this.pos++;
  }

  private fail(reason: string): ValueError {
    return new ValueError(`invalid array literal at offset ${this.pos}: ${reason}`);
  }
}

/** Quotes exactly where array_out would, so our literals match Postgres's own output. */
function formatElement(item: string | null): string {
  if (item === null) return 'NULL';
  if (item !== '' && item.toUpperCase() !== 'NULL' && !NEEDS_QUOTES.test(item)) return item;
  return `"${item.replace(/["\\]/g, '\\$&')}"`;
}

export function formatPgArray(items: ArrayItems): string {
  return `{${items.map(formatElement).join(',')}}`;
}
