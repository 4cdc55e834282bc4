// The fault filter language, shared by the lab's fault table and `iommu-lab replay --filter`
// (docs/filter.md): `rid == 00:14.0 && reason == 0x05`, `hazard`, `t == 1`, `time >= 1.5ms && time < 2ms`,
// `addr in 0x1000..0x1fff`, `class == rmrr-without-unity-map`, `!(write || pasid)`.
//
//   expr       = or
//   or         = and { ("||" | "or") and }
//   and        = unary { ("&&" | "and") unary }
//   unary      = ("!" | "not") unary | "(" expr ")" | term
//   term       = field [ op value | "in" value ".." value ]
//   op         = "==" | "=" | "!=" | "<" | "<=" | ">" | ">="
//
// parseFilter tokenizes and parses to an AST, checking every value against its field (a PCI address,
// a number, a time with a unit, a known stage/recording/class name); compileFilter turns the AST into a
// predicate over a FaultColumns row store (src/query/fault-columns.ts). Every mistake is a FilterError
// naming the 1-based column and what was expected there; nothing else is ever thrown. Pure.
import { parseBdf } from '../engine/bdf';
import {
  CLASS_NAMES,
  FLAG_HAZARD,
  FLAG_TBIT,
  FLAG_TBIT_KNOWN,
  FLAG_WRITE,
  RECORDING_NAMES,
  STAGE_LIST,
  type FaultColumns,
} from './fault-columns';

export class FilterError extends Error {
  constructor(
    /** 1-based column of the input where the problem is */
    readonly column: number,
    readonly detail: string,
  ) {
    super(`column ${column}: ${detail}`);
    this.name = 'FilterError';
  }
}

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

/** The kind of value a field compares with. */
type FieldType =
  'bdf' | 'int' | 'address' | 'time' | 'bit' | 'access' | 'kind' | 'stage' | 'recording' | 'class';

interface FieldDef {
  name: string;
  type: FieldType;
  /** what the field alone (no operator) means, if it may stand alone */
  flag?: string;
  /** ordered comparisons (<, <=, >, >=) and ranges allowed */
  ordered: boolean;
}

const FIELDS: Record<string, FieldDef> = {};
const def = (names: string[], type: FieldType, ordered: boolean, flag?: string): void => {
  for (const n of names) FIELDS[n] = { name: names[0]!, type, ordered, flag };
};
def(['rid', 'bdf', 'device'], 'bdf', false);
def(['pasid'], 'int', true, 'the request has a PASID');
def(['reason'], 'int', true);
def(['t', 'tbit'], 'bit', false, 'T=1');
def(['access'], 'access', false);
def(['read'], 'access', false, 'a read');
def(['write'], 'access', false, 'a write (or atomic)');
def(['address', 'addr'], 'address', true);
def(['time'], 'time', true);
def(['kind'], 'kind', false);
def(['fault'], 'kind', false, 'a fault');
def(['hazard'], 'kind', false, 'a use-after-unmap hazard');
def(['stage'], 'stage', false);
def(['class'], 'class', false);
def(['recording'], 'recording', false);

export const FILTER_FIELDS: readonly string[] = Object.keys(FIELDS);

/** A value as parsed: numbers are exact (addresses as two 32-bit halves). */
export type FilterValue =
  | { type: 'number'; value: number }
  | { type: 'address'; hi: number; lo: number }
  | { type: 'bdf'; rid: number; segment: number | null }
  | { type: 'name'; value: string }
  | { type: 'none' };

export type FilterAst =
  | { type: 'and' | 'or'; left: FilterAst; right: FilterAst }
  | { type: 'not'; expr: FilterAst }
  | { type: 'flag'; field: string; column: number }
  | { type: 'compare'; field: string; op: CompareOp; value: FilterValue; column: number }
  | { type: 'range'; field: string; low: FilterValue; high: FilterValue; column: number };

// ---------- tokens ----------

interface Token {
  kind: 'op' | 'word' | 'string' | 'end';
  text: string;
  /** 1-based */
  column: number;
}

const OPS = ['==', '!=', '<=', '>=', '&&', '||', '..', '<', '>', '=', '!', '(', ')'];
const WORD = /[A-Za-z0-9_.:\-+µ]/;

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (op) {
      out.push({ kind: 'op', text: op, column: i + 1 });
      i += op.length;
      continue;
    }
    if (ch === '"' || ch === "'") {
      const end = text.indexOf(ch, i + 1);
      if (end < 0) throw new FilterError(i + 1, `expected a closing ${ch} for this quoted value`);
      out.push({ kind: 'string', text: text.slice(i + 1, end), column: i + 1 });
      i = end + 1;
      continue;
    }
    if (WORD.test(ch)) {
      const start = i;
      while (i < text.length && WORD.test(text[i]!) && !text.startsWith('..', i)) i++;
      out.push({ kind: 'word', text: text.slice(start, i), column: start + 1 });
      continue;
    }
    throw new FilterError(
      i + 1,
      `unexpected character ${JSON.stringify(ch)}: expected a field, a value, an operator or a parenthesis`,
    );
  }
  out.push({ kind: 'end', text: '', column: text.length + 1 });
  return out;
}

// ---------- values ----------

const TIME_UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 };
const NUMBER = /^(0[xX][0-9a-fA-F]+|[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)([a-zµ]*)$/;
const TWO_32 = 2 ** 32;

function describe(t: Token): string {
  return t.kind === 'end' ? 'the end of the filter' : JSON.stringify(t.text);
}

function parseNumber(t: Token, what: string): { value: number; unit: string; hex: string | null } {
  const m = t.kind === 'word' ? NUMBER.exec(t.text) : null;
  if (!m) throw new FilterError(t.column, `expected ${what}, found ${describe(t)}`);
  const hex = /^0[xX]/.test(m[1]!) ? m[1]!.slice(2) : null;
  const value = hex !== null ? parseInt(hex, 16) : Number(m[1]);
  return { value, unit: m[2]!, hex };
}

function parseValue(field: FieldDef, t: Token): FilterValue {
  const name = field.name;
  switch (field.type) {
    case 'bdf': {
      const b = t.kind === 'word' ? parseBdf(t.text) : null;
      if (!b)
        throw new FilterError(
          t.column,
          `expected a PCI address like 00:14.0 or 0000:00:14.0 after ${name}, found ${describe(t)}`,
        );
      const explicitSegment = /^[0-9a-fA-F]{1,4}:[0-9a-fA-F]{1,2}:/.test(t.text);
      return {
        type: 'bdf',
        rid: (b.bus << 8) | (b.dev << 3) | b.fn,
        segment: explicitSegment ? b.segment : null,
      };
    }
    case 'int': {
      if (name === 'pasid' && t.kind === 'word' && t.text.toLowerCase() === 'none') return { type: 'none' };
      const n = parseNumber(t, `a number (decimal or 0x hex) for ${name}`);
      if (n.unit || !Number.isInteger(n.value) || n.value > 0xffffffff)
        throw new FilterError(
          t.column,
          `expected a whole number below 2^32 for ${name}, found ${describe(t)}`,
        );
      return { type: 'number', value: n.value };
    }
    case 'bit': {
      if (t.kind !== 'word' || (t.text !== '0' && t.text !== '1'))
        throw new FilterError(t.column, `expected 0 or 1 for ${name}, found ${describe(t)}`);
      return { type: 'number', value: Number(t.text) };
    }
    case 'address': {
      const n = parseNumber(t, `an address (0x hex or decimal) for ${name}`);
      if (n.unit)
        throw new FilterError(t.column, `expected an address (0x hex or decimal), found ${describe(t)}`);
      if (n.hex !== null) {
        const h = n.hex.replace(/^0+/, '');
        if (h.length > 16)
          throw new FilterError(t.column, `expected an address below 2^64, found ${describe(t)}`);
        const hi = h.length > 8 ? parseInt(h.slice(0, h.length - 8), 16) : 0;
        const lo = h.length ? parseInt(h.slice(-8), 16) : 0;
        return { type: 'address', hi, lo };
      }
      if (!Number.isSafeInteger(n.value))
        throw new FilterError(
          t.column,
          `expected a whole address below 2^53 (use 0x hex above), found ${describe(t)}`,
        );
      return { type: 'address', hi: Math.floor(n.value / TWO_32), lo: n.value % TWO_32 };
    }
    case 'time': {
      const n = parseNumber(t, 'a time such as 1500, 1.5us, 2ms or 0.5s');
      const scale = TIME_UNITS[n.unit || 'ns'];
      if (scale === undefined)
        throw new FilterError(
          t.column,
          `expected a time unit (ns, us, ms or s) after the number, found ${JSON.stringify(n.unit)}`,
        );
      return { type: 'number', value: n.value * scale };
    }
    case 'access':
    case 'kind':
    case 'stage':
    case 'recording':
    case 'class': {
      const list =
        field.type === 'access'
          ? ['read', 'write']
          : field.type === 'kind'
            ? ['fault', 'hazard']
            : field.type === 'stage'
              ? STAGE_LIST
              : field.type === 'recording'
                ? RECORDING_NAMES
                : CLASS_NAMES;
      const v = t.kind === 'word' || t.kind === 'string' ? t.text.toLowerCase() : null;
      if (v === null || !list.includes(v))
        throw new FilterError(
          t.column,
          `expected one of ${list.join(', ')} for ${name}, found ${describe(t)}`,
        );
      return { type: 'name', value: v };
    }
  }
}

// ---------- parser ----------

const MAX_DEPTH = 200;
/** fields that are only flags */
const STANDALONE = new Set(['read', 'write', 'fault', 'hazard']);

class Parser {
  private at = 0;
  private depth = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.at]!;
  }
  private next(): Token {
    return this.tokens[this.at++]!;
  }
  private isOp(t: Token, ...ops: string[]): boolean {
    return t.kind === 'op' && ops.includes(t.text);
  }
  private isWord(t: Token, w: string): boolean {
    return t.kind === 'word' && t.text.toLowerCase() === w;
  }

  parse(): FilterAst {
    const e = this.or();
    const t = this.peek();
    if (t.kind !== 'end') {
      const what = this.isOp(t, ')')
        ? 'no "(" opened before this ")"'
        : `expected && or || before ${describe(t)}`;
      throw new FilterError(t.column, what);
    }
    return e;
  }

  private or(): FilterAst {
    let left = this.and();
    while (this.isOp(this.peek(), '||') || this.isWord(this.peek(), 'or')) {
      this.next();
      left = { type: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): FilterAst {
    let left = this.unary();
    while (this.isOp(this.peek(), '&&') || this.isWord(this.peek(), 'and')) {
      this.next();
      left = { type: 'and', left, right: this.unary() };
    }
    return left;
  }

  private unary(): FilterAst {
    const t = this.peek();
    if (++this.depth > MAX_DEPTH) throw new FilterError(t.column, `nested more than ${MAX_DEPTH} deep`);
    try {
      if (this.isOp(t, '!') || this.isWord(t, 'not')) {
        this.next();
        return { type: 'not', expr: this.unary() };
      }
      if (this.isOp(t, '(')) {
        this.next();
        const e = this.or();
        const close = this.peek();
        if (!this.isOp(close, ')'))
          throw new FilterError(
            close.column,
            `expected ")" to close the "(" at column ${t.column}, found ${describe(close)}`,
          );
        this.next();
        return e;
      }
      return this.term();
    } finally {
      this.depth--;
    }
  }

  private term(): FilterAst {
    const t = this.next();
    const field = t.kind === 'word' ? FIELDS[t.text.toLowerCase()] : undefined;
    if (!field) {
      throw new FilterError(
        t.column,
        `expected a field (${FILTER_FIELDS.join(', ')}), "!" or "(", found ${describe(t)}`,
      );
    }
    const name = t.text.toLowerCase();
    const opTok = this.peek();
    if (this.isWord(opTok, 'in')) {
      this.next();
      if (!field.ordered) throw new FilterError(opTok.column, `${name} takes == or != , not a range`);
      const low = parseValue(field, this.next());
      const dots = this.next();
      if (!this.isOp(dots, '..'))
        throw new FilterError(
          dots.column,
          `expected ".." between the two ends of the range, found ${describe(dots)}`,
        );
      const high = parseValue(field, this.next());
      return { type: 'range', field: field.name, low, high, column: t.column };
    }
    if (opTok.kind === 'op' && ['==', '=', '!=', '<', '<=', '>', '>='].includes(opTok.text)) {
      this.next();
      const op = (opTok.text === '=' ? '==' : opTok.text) as CompareOp;
      if (STANDALONE.has(name))
        throw new FilterError(
          opTok.column,
          `${name} stands alone (or write ${name === 'read' || name === 'write' ? 'access' : 'kind'} == ${name})`,
        );
      if (!field.ordered && op !== '==' && op !== '!=')
        throw new FilterError(
          opTok.column,
          `expected == or != after ${name} (it has no order), found ${describe(opTok)}`,
        );
      const vt = this.next();
      const value = parseValue(field, vt);
      if (value.type === 'none' && op !== '==' && op !== '!=')
        throw new FilterError(vt.column, `expected == or != with none`);
      return { type: 'compare', field: field.name, op, value, column: t.column };
    }
    if (field.flag) return { type: 'flag', field: name === 'tbit' ? 't' : name, column: t.column };
    throw new FilterError(
      opTok.column,
      `expected ${field.ordered ? '==, !=, <, <=, >, >= or in' : '== or !='} after ${name}, found ${describe(opTok)}`,
    );
  }
}

/** Parses a filter; null for a blank one (every row matches). Throws FilterError only. */
export function parseFilter(text: string): FilterAst | null {
  if (text.trim() === '') return null;
  try {
    return new Parser(tokenize(text)).parse();
  } catch (e) {
    if (e instanceof FilterError) throw e;
    // a bug here must still read as a filter error, never crash a caller
    throw new FilterError(1, `cannot parse: ${(e as Error).message}`);
  }
}

// ---------- compiler ----------

/** Tests row i of the store the predicate was compiled for. */
export type RowPredicate = (i: number) => boolean;

const cmp = (op: CompareOp, d: number): boolean =>
  op === '=='
    ? d === 0
    : op === '!='
      ? d !== 0
      : op === '<'
        ? d < 0
        : op === '<='
          ? d <= 0
          : op === '>'
            ? d > 0
            : d >= 0;

/**
 * Compiles a filter for a store's current columns (compile again after the store grows: its arrays
 * may be replaced). Null (blank filter) matches every row.
 */
export function compileFilter(ast: FilterAst | null, store: FaultColumns): RowPredicate {
  if (!ast) return () => true;
  return build(ast, store);
}

function build(n: FilterAst, s: FaultColumns): RowPredicate {
  switch (n.type) {
    case 'and': {
      const a = build(n.left, s);
      const b = build(n.right, s);
      return (i) => a(i) && b(i);
    }
    case 'or': {
      const a = build(n.left, s);
      const b = build(n.right, s);
      return (i) => a(i) || b(i);
    }
    case 'not': {
      const a = build(n.expr, s);
      return (i) => !a(i);
    }
    case 'flag':
      return flag(n.field, s);
    case 'range': {
      const lo = compare(n.field, '>=', n.low, s);
      const hi = compare(n.field, '<=', n.high, s);
      return (i) => lo(i) && hi(i);
    }
    case 'compare':
      return compare(n.field, n.op, n.value, s);
  }
}

function flag(field: string, s: FaultColumns): RowPredicate {
  const c = s.cols;
  const f = c.flags;
  switch (field) {
    case 'pasid':
      return (i) => c.pasid[i]! >= 0;
    case 't':
      return (i) => (f[i]! & (FLAG_TBIT_KNOWN | FLAG_TBIT)) === (FLAG_TBIT_KNOWN | FLAG_TBIT);
    case 'read':
      return (i) => (f[i]! & FLAG_WRITE) === 0;
    case 'write':
      return (i) => (f[i]! & FLAG_WRITE) !== 0;
    case 'hazard':
      return (i) => (f[i]! & FLAG_HAZARD) !== 0;
    case 'fault':
      return (i) => (f[i]! & FLAG_HAZARD) === 0;
  }
  return () => false;
}

function compare(field: string, op: CompareOp, v: FilterValue, s: FaultColumns): RowPredicate {
  const c = s.cols;
  const eq = op === '==';
  switch (field) {
    case 'rid': {
      if (v.type !== 'bdf') break;
      const want = v.segment === null ? v.rid : ((v.segment << 16) | v.rid) >>> 0;
      const mask = v.segment === null ? 0xffff : 0xffffffff;
      return (i) => ((c.rid[i]! & mask) >>> 0 === want) === eq;
    }
    case 'pasid': {
      if (v.type === 'none') return (i) => c.pasid[i]! < 0 === eq;
      if (v.type !== 'number') break;
      const x = v.value;
      // a request without PASID has no PASID to compare: only != matches it
      return (i) => (c.pasid[i]! < 0 ? op === '!=' : cmp(op, c.pasid[i]! - x));
    }
    case 'reason': {
      if (v.type !== 'number') break;
      const x = v.value;
      // a hazard has no fault reason (nor a recording): only != matches it
      return (i) => (c.flags[i]! & FLAG_HAZARD ? op === '!=' : cmp(op, c.reason[i]! - x));
    }
    case 't': {
      if (v.type !== 'number') break;
      const want = v.value ? FLAG_TBIT_KNOWN | FLAG_TBIT : FLAG_TBIT_KNOWN;
      // an unknown T bit is neither 0 nor 1
      return (i) => ((c.flags[i]! & (FLAG_TBIT_KNOWN | FLAG_TBIT)) === want) === eq;
    }
    case 'access': {
      if (v.type !== 'name') break;
      const w = v.value === 'write' ? FLAG_WRITE : 0;
      return (i) => ((c.flags[i]! & FLAG_WRITE) === w) === eq;
    }
    case 'address': {
      if (v.type !== 'address') break;
      const { hi, lo } = v;
      return (i) => cmp(op, c.addrHi[i]! - hi || c.addrLo[i]! - lo);
    }
    case 'time': {
      if (v.type !== 'number') break;
      const x = v.value;
      return (i) => cmp(op, c.time[i]! - x);
    }
    case 'kind': {
      if (v.type !== 'name') break;
      const h = v.value === 'hazard' ? FLAG_HAZARD : 0;
      return (i) => ((c.flags[i]! & FLAG_HAZARD) === h) === eq;
    }
    case 'stage':
    case 'recording': {
      if (v.type !== 'name') break;
      const id = field === 'stage' ? s.stageId(v.value) : s.recordingId(v.value);
      if (field === 'stage') return (i) => (c.stage[i] === id) === eq;
      return (i) => (c.flags[i]! & FLAG_HAZARD ? !eq : (c.recording[i] === id) === eq);
    }
    case 'class': {
      if (v.type !== 'name') break;
      const bit = s.classBit(v.value);
      return (i) => ((c.classes[i]! & bit) !== 0) === eq;
    }
  }
  return () => false;
}
