import { compareDecimalText } from './decimal.ts';
import { ValueError, orElse } from './value-error.ts';

/**
 * A small JSON parser that keeps each number's source text. JSON.parse would turn
 * 12345678901234567891 into a double and make it equal to ...890; jsonb stores numbers as NUMERIC,
 * so equality must be exact.
 */
export type JsonNode =
  | { kind: 'null' }
  | { kind: 'bool'; value: boolean }
  | { kind: 'number'; text: string }
  | { kind: 'string'; value: string }
  | { kind: 'array'; items: JsonNode[] }
  | { kind: 'object'; members: Map<string, JsonNode> };

const MAX_DEPTH = 1000; // deeper input would overflow the stack; refuse it as a bad value
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WORDS: ReadonlyArray<[string, JsonNode]> = [
  ['null', { kind: 'null' }],
  ['true', { kind: 'bool', value: true }],
  ['false', { kind: 'bool', value: false }],
];

/** Parses one JSON document (RFC 8259); ValueError on any syntax error. */
export function parseJson(text: string): JsonNode {
  const reader = new JsonReader(text);
  const node = reader.value(0);
  reader.end();
  return node;
}

class JsonReader {
  private pos = 0;

  constructor(private readonly text: string) {}

  value(depth: number): JsonNode {
    if (depth > MAX_DEPTH) throw this.fail('nested too deeply');
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return { kind: 'string', value: this.string() };
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, node] of WORDS) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return node;
      }
    }
    throw this.fail('unexpected character');
  }

  end(): void {
    this.skipSpace();
    if (this.pos !== this.text.length) throw this.fail('trailing characters');
  }

  private object(depth: number): JsonNode {
    const members = new Map<string, JsonNode>();
    this.pos++;
    if (this.peekAfterSpace() === '}') {
      this.pos++;
      return { kind: 'object', members };
    }
    do {
      if (this.peekAfterSpace() !== '"') throw this.fail('expected a member name');
      const key = this.string();
      if (this.peekAfterSpace() !== ':') throw this.fail('expected ":"');
      this.pos++;
      // Duplicate keys: the last one wins, as in jsonb.
      members.set(key, this.value(depth + 1));
    } while (this.separator('}'));
    return { kind: 'object', members };
  }

  private array(depth: number): JsonNode {
    const items: JsonNode[] = [];
    this.pos++;
    if (this.peekAfterSpace() === ']') {
      this.pos++;
      return { kind: 'array', items };
    }
    do items.push(this.value(depth + 1));
    while (this.separator(']'));
    return { kind: 'array', items };
  }

  /** Consumes ',' (true: more follow) or the closing bracket (false). */
  private separator(close: string): boolean {
    const c = this.peekAfterSpace();
    this.pos++;
    if (c === ',') return true;
    if (c === close) return false;
    throw this.fail(`expected "," or "${close}"`);
  }

  private string(): string {
    const start = this.pos;
    for (let i = start + 1; i < this.text.length; i++) {
      const code = this.text.charCodeAt(i);
      if (code === 0x5c) i++; // skip the escaped character; JSON.parse validates the escape
      else if (code < 0x20) throw this.fail('control character in string');
      else if (code === 0x22) {
        this.pos = i + 1;
        return this.decode(this.text.slice(start, i + 1));
      }
    }
    throw this.fail('unterminated string');
  }

  private number(): JsonNode {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (match === null) throw this.fail('bad number');
    this.pos += match[0].length;
    return { kind: 'number', text: match[0] };
  }

  /** The token is a complete JSON string, so JSON.parse only has its escapes left to decode. */
  private decode(token: string): string {
    try {
      return JSON.parse(token) as string;
    } catch {
      throw this.fail('bad escape');
    }
  }

  private peekAfterSpace(): string | undefined {
    this.skipSpace();
    return this.text[this.pos];
  }

  private skipSpace(): void {
    while (/[ \t\n\r]/.test(this.text[this.pos] ?? '')) this.pos++;
  }

  private fail(reason: string): ValueError {
    return new ValueError(`invalid JSON at offset ${this.pos}: ${reason}`);
  }
}

/** Compact JSON text of a node (used when a JSON array element is itself JSON). */
export function stringifyJson(node: JsonNode): string {
  switch (node.kind) {
    case 'null':
      return 'null';
    case 'bool':
      return String(node.value);
    case 'number':
      return node.text;
    case 'string':
      return JSON.stringify(node.value);
    case 'array':
      return `[${node.items.map(stringifyJson).join(',')}]`;
    case 'object':
      return `{${[...node.members].map(([k, v]) => `${JSON.stringify(k)}:${stringifyJson(v)}`).join(',')}}`;
  }
}

/** Structural equality as jsonb sees it: key order and whitespace ignored, numbers exact. */
export function jsonEqual(a: JsonNode, b: JsonNode): boolean {
  switch (a.kind) {
    case 'null':
      return b.kind === 'null';
    case 'bool':
    case 'string':
      return b.kind === a.kind && b.value === a.value;
    case 'number':
      // 1.0 == 1 == 1e0 in jsonb (numeric equality); fall back to text for absurd exponents.
      return b.kind === 'number' && orElse(() => compareDecimalText(a.text, b.text) === 0, a.text === b.text);
    case 'array':
      return b.kind === 'array' && a.items.length === b.items.length && a.items.every((x, i) => jsonEqual(x, b.items[i] as JsonNode));
    case 'object':
      return b.kind === 'object' && a.members.size === b.members.size && [...a.members].every(([k, v]) => {
        const other = b.members.get(k);
        return other !== undefined && jsonEqual(v, other);
      });
  }
}
