import { describe, expect, it } from 'vitest';
import { encode } from '../../src/engine/verify-data/checksum.ts';
import { endsWithBar } from '../../src/engine/verify-data/normal-form.ts';

// verify-data trusts that two rows with the same row text have the same normal forms, column by
// column: a row text must read back into its values. This reads encode's text back (knowing which
// columns end with '|', as both sides do) and checks it gives the values it was made of, over
// values built to confuse the reading: '|', '#', ':', 'N', digits and empty texts.

function decode(text: string, ended: readonly boolean[]): Array<string | null> {
  const bytes = Buffer.from(text, 'utf8');
  let at = 0;
  const framed = () => {
    const colon = bytes.indexOf(0x3a, at);
    const n = Number(bytes.subarray(at, colon).toString());
    if (!/^\d+$/.test(bytes.subarray(at, colon).toString())) throw new Error(`no length at ${at}`);
    const v = bytes.subarray(colon + 1, colon + 1 + n).toString('utf8');
    at = colon + 1 + n;
    return v;
  };
  const out = ended.map((end) => {
    if (!end) {
      if (bytes[at] === 0x4e /* N */) return (at++, null);
      return framed();
    }
    if (bytes[at] === 0x23 /* # */) {
      at++;
      const v = framed();
      if (bytes[at++] !== 0x7c) throw new Error('no | after an escaped value');
      return v;
    }
    const bar = bytes.indexOf(0x7c, at);
    if (bar < 0) throw new Error('no |');
    const v = bytes.subarray(at, bar).toString('utf8');
    at = bar + 1;
    return v === '' ? null : v;
  });
  if (at !== bytes.length) throw new Error('text left over');
  return out;
}

describe('verify-data row text', () => {
  it('reads back into the values it was made of, whatever the values hold', () => {
    const pieces = ['', '|', '#', ':', 'N', '1', '12', '3:', 'é', '||', '#2:', 'N|'];
    let seed = 7;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const texts = new Map<string, string>();
    for (let i = 0; i < 20_000; i++) {
      const width = 1 + next(4);
      const ended = Array.from({ length: width }, () => next(2) === 0);
      const values = ended.map(() => (next(5) === 0 ? null : Array.from({ length: next(4) }, () => pieces[next(pieces.length)]).join('')));
      const text = encode(values, ended);
      expect(decode(text, ended)).toEqual(values);
      // And so two different rows of one table never share a text.
      const table = ended.join();
      const seen = texts.get(`${table}/${text}`);
      if (seen !== undefined) expect(seen).toBe(JSON.stringify(values));
      texts.set(`${table}/${text}`, JSON.stringify(values));
    }
  });

  it('a value of an ended column is written plain only when it could not pass for another split', () => {
    expect(encode(['12.5', null, 'true'], [true, true, true])).toBe('12.5||true|');
    expect(encode(['', '#1', '1|2'], [true, true, true])).toBe('#0:|#2:#1|#3:1|2|');
    expect(encode([null, 'ab'], [false, false])).toBe('N2:ab');
  });

  it('the families ending with | are those Postgres prints without |, # or emptiness', () => {
    expect((['int', 'numeric', 'bool', 'uuid', 'timestamptz', 'timestamp', 'date'] as const).every((f) => endsWithBar(f))).toBe(true);
    expect((['text', 'bpchar', 'bytea', 'json', 'array', 'other', 'float', 'time'] as const).some((f) => endsWithBar(f))).toBe(false);
  });
});
