// Queries over a fault table (a FaultColumns store): the rows matching a filter (src/query/filter.ts),
// in an order (SORT_KEYS of src/shared/views/faults.ts), a page at a time, each with the first coloring
// rule it matches; and the fault clusters (src/report/clusters.ts) of the matching faults.
//
// The matching rows of each (filter, order) are kept as a sorted index of row ids, for the last few
// pairs asked for. When the store grows (a replay goes on), only the rows appended since are filtered,
// sorted and merged in; when it drops rows (a seek back), ids at or past the cut leave the index (an
// index stays sorted when ids are removed). `visible` bounds the rows a query sees (the replay's row
// count when the store holds rows sent before a seek back). Pure.
import { Clusterer, type FaultCluster } from '../report/clusters';
import type { FaultPageColumns, SORT_KEYS } from '../shared/views/faults';
import {
  argsortF64,
  argsortU32,
  argsortU64,
  keysOf,
  mergeKeyed,
  type MergeKey,
  type SortedKeys,
} from './argsort';
import { FLAG_HAZARD, FLAG_GAP, FLAG_WRITE, type FaultColumns, type TableRow } from './fault-columns';
import { compileFilter, FilterError, parseFilter, type FilterAst } from './filter';

export type SortKey = (typeof SORT_KEYS)[number];

export interface QuerySpec {
  filter?: string;
  sort?: { key: SortKey; descending?: boolean };
  colorRules?: string[];
  /** 'columns': the page as `columns` (FaultPageColumns), `rows` empty */
  shape?: 'rows' | 'columns';
  offset: number;
  limit: number;
}

export interface QueryResult {
  /** rows matching the filter */
  total: number;
  /** rows in the table */
  all: number;
  rows: (TableRow & { colorRule?: number })[];
  columns?: FaultPageColumns;
}

interface IndexEntry {
  /** matching row ids in order; for the row order, a buffer with room to grow (ids in [0, length)) */
  ids: Uint32Array;
  length: number;
  /** a sorted index's keys, in its order (argsort.ts SortedKeys) */
  keys: SortedKeys | null;
  /** rows [0, covered) have been examined */
  covered: number;
  epoch: number;
}

interface ClusterEntry {
  clusterer: Clusterer;
  covered: number;
  epoch: number;
}

/** An error in a coloring rule: which rule, then the filter error. */
export class ColorRuleError extends FilterError {
  constructor(
    readonly rule: number,
    e: FilterError,
  ) {
    super(e.column, e.detail);
    this.message = `color rule ${rule + 1}: ${e.message}`;
  }
}

export class FaultQuery {
  private readonly indexes = new Map<string, IndexEntry>();
  private readonly asts = new Map<string, FilterAst | null>();
  private clusterCache: { filter: string; entry: ClusterEntry } | null = null;

  constructor(
    readonly store: FaultColumns,
    /** (filter, order) indexes kept */
    private readonly maxIndexes = 6,
  ) {}

  /** Parses (and remembers) a filter; throws FilterError. */
  parse(filter: string | undefined): FilterAst | null {
    const text = (filter ?? '').trim();
    let ast = this.asts.get(text);
    if (ast === undefined) {
      ast = parseFilter(text);
      if (this.asts.size > 64) this.asts.clear();
      this.asts.set(text, ast);
    }
    return ast;
  }

  /** A page of the matching rows in the order asked for. Throws FilterError (or ColorRuleError). */
  run(spec: QuerySpec, visible = this.store.length): QueryResult {
    const n = Math.min(visible, this.store.length);
    const rules = (spec.colorRules ?? []).map((r, k) => {
      try {
        return compileFilter(this.parse(r), this.store);
      } catch (e) {
        if (e instanceof FilterError) throw new ColorRuleError(k, e);
        throw e;
      }
    });
    const key = spec.sort?.key ?? 'index';
    const descending = spec.sort?.descending ?? false;
    const { ids, length } = this.index(spec.filter, key === 'index' ? null : key, descending, n);
    const end = Math.min(length, spec.offset + spec.limit);
    const page = new Uint32Array(Math.max(0, end - spec.offset));
    for (let p = spec.offset; p < end; p++)
      page[p - spec.offset] = key === 'index' && descending ? ids[length - 1 - p]! : ids[p]!;
    const colorRule = rules.length ? (i: number) => rules.findIndex((r) => r(i)) : undefined;
    if (spec.shape === 'columns')
      return { total: length, all: n, rows: [], columns: this.store.page(page, colorRule) };
    const rows: QueryResult['rows'] = [];
    for (const i of page) {
      const row: TableRow & { colorRule?: number } = this.store.row(i);
      if (colorRule) row.colorRule = colorRule(i);
      rows.push(row);
    }
    return { total: length, all: n, rows };
  }

  /** The ids of the rows [0, visible) matching a filter, in row order. */
  matching(filter: string | undefined, visible = this.store.length): Uint32Array {
    const { ids, length } = this.index(filter, null, false, Math.min(visible, this.store.length));
    return ids.subarray(0, length);
  }

  /** The fault clusters of the matching faults (hazards and gap rows are left out), in order opened. */
  clusters(filter: string | undefined, visible = this.store.length): FaultCluster[] {
    const text = (filter ?? '').trim();
    const ids = this.matching(text, visible);
    const n = Math.min(visible, this.store.length);
    let entry = this.clusterCache?.filter === text ? this.clusterCache.entry : null;
    if (entry && (entry.epoch !== this.store.epoch || entry.covered > n)) {
      const low = Math.min(this.store.lowestSince(entry.epoch), n);
      // clusters cannot give faults back: start again when rows they hold were dropped
      if (low < entry.covered) entry = null;
      else entry.epoch = this.store.epoch;
    }
    if (!entry) {
      entry = { clusterer: new Clusterer(1), covered: 0, epoch: this.store.epoch };
      this.clusterCache = { filter: text, entry };
    }
    // ids are in row order: the first id at or past `covered`
    let lo = 0;
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ids[mid]! < entry.covered) lo = mid + 1;
      else hi = mid;
    }
    for (let p = lo; p < ids.length; p++) {
      const f = this.store.fault(ids[p]!);
      if (f) entry.clusterer.add(f);
    }
    entry.covered = n;
    return entry.clusterer.clusters;
  }

  /** The sorted index of a (filter, key) pair over rows [0, n), brought up to date. */
  private index(
    filter: string | undefined,
    key: Exclude<SortKey, 'index'> | null,
    descending: boolean,
    n: number,
  ): { ids: Uint32Array; length: number } {
    const ast = this.parse(filter);
    const name = `${(filter ?? '').trim()}\u0000${key ?? 'index'}${key && descending ? ':desc' : ''}`;
    let e = this.indexes.get(name);
    if (e) {
      this.indexes.delete(name); // most recently used last
      const low = e.epoch === this.store.epoch ? Infinity : this.store.lowestSince(e.epoch);
      e.epoch = this.store.epoch;
      const cut = Math.min(low, n);
      if (cut < e.covered) {
        let k = 0;
        const keys = e.keys;
        for (let p = 0; p < e.length; p++) {
          if (e.ids[p]! >= cut) continue;
          e.ids[k] = e.ids[p]!;
          if (keys) {
            keys.hi[k] = keys.hi[p]!;
            if (keys.lo) keys.lo[k] = keys.lo[p]!;
          }
          k++;
        }
        e.length = k;
        e.covered = cut;
        if (e.keys) {
          e.ids = e.ids.slice(0, k);
          e.keys = { hi: e.keys.hi.slice(0, k), lo: e.keys.lo?.slice(0, k) ?? null };
        }
      }
    } else e = { ids: new Uint32Array(0), length: 0, keys: null, covered: 0, epoch: this.store.epoch };
    this.indexes.set(name, e);
    while (this.indexes.size > this.maxIndexes) this.indexes.delete(this.indexes.keys().next().value!);
    if (n > e.covered) {
      const added = this.filterRange(ast, e.covered, n);
      if (key === null) {
        if (e.length + added.length > e.ids.length) {
          const grown = new Uint32Array(
            Math.max(e.length + added.length, Math.ceil(e.ids.length * 1.5), 1024),
          );
          grown.set(e.ids.subarray(0, e.length));
          e.ids = grown;
        }
        e.ids.set(added, e.length);
        e.length += added.length;
      } else {
        const sorted = this.sort(added, key, descending);
        const keys = keysOf(sorted, this.mergeKey(key), descending);
        if (e.length && e.keys) {
          const m = mergeKeyed(e.ids.subarray(0, e.length), e.keys, sorted, keys);
          e.ids = m.ids;
          e.keys = m.keys;
        } else {
          e.ids = sorted;
          e.keys = keys;
        }
        e.length = e.ids.length;
      }
      e.covered = n;
    }
    return e;
  }

  private filterRange(ast: FilterAst | null, from: number, to: number): Uint32Array {
    if (!ast) {
      const out = new Uint32Array(to - from);
      for (let i = from; i < to; i++) out[i - from] = i;
      return out;
    }
    const pred = compileFilter(ast, this.store);
    let out = new Uint32Array(Math.min(to - from, 4096));
    let k = 0;
    for (let i = from; i < to; i++) {
      if (!pred(i)) continue;
      if (k === out.length) {
        const grown = new Uint32Array(Math.min(to - from, out.length * 2));
        grown.set(out);
        out = grown;
      }
      out[k++] = i;
    }
    return out.subarray(0, k);
  }

  private sort(ids: Uint32Array, key: Exclude<SortKey, 'index'>, descending: boolean): Uint32Array {
    const c = this.store.cols;
    const o = { descending };
    switch (key) {
      case 'time':
        return argsortF64(ids, c.time, o);
      case 'bdf':
        return argsortU32(ids, c.rid, o);
      case 'pasid':
        return argsortU32(ids, c.pasid, { descending, bias: 1 });
      case 'address':
        return argsortU64(ids, c.addrHi, c.addrLo, o);
      case 'reason':
        return argsortU32(ids, c.reason, o);
      case 'access':
        return argsortU32(ids, c.flags, { descending, mask: FLAG_WRITE });
    }
  }

  /** The key column of a sort, for merging sorted indexes (the same keys sort() sorts by). */
  private mergeKey(key: Exclude<SortKey, 'index'>): MergeKey {
    const c = this.store.cols;
    switch (key) {
      case 'time':
        return { kind: 'f64', col: c.time };
      case 'bdf':
        return { kind: 'u32', col: c.rid };
      case 'pasid':
        return { kind: 'u32', col: c.pasid, bias: 1 };
      case 'address':
        return { kind: 'u64', hi: c.addrHi, lo: c.addrLo };
      case 'reason':
        return { kind: 'u32', col: c.reason };
      case 'access':
        return { kind: 'u32', col: c.flags, mask: FLAG_WRITE };
    }
  }
}

/** Whether row i is a real fault (not a hazard nor a row a seek skipped). */
export function isFaultRow(store: FaultColumns, i: number): boolean {
  return (store.cols.flags[i]! & (FLAG_HAZARD | FLAG_GAP)) === 0;
}
