import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import { badRequest } from '../util/errors.ts';

/**
 * Splunk SOAR list semantics for every `GET /rest/<type>`: paging (`page` 0-based, `page_size`
 * default 10, `0` = all), `sort` + `order`, and `_filter_<field>[__lookup]=<value>` /
 * `_exclude_<field>[__lookup]=<value>` query parameters, translated into parameterised SQL over a
 * whitelist of fields per object type. Nothing from the query string is ever spliced into SQL text:
 * field names only select a column from the whitelist, values are bound parameters.
 */

/** How a field of an object type is stored, which decides the lookups it supports. */
export type FieldKind = 'text' | 'int' | 'bool' | 'time' | 'jsonArray' | 'json';

/** One filterable/sortable field: its column (qualified if the query joins) and its kind. */
export interface ListField {
  column: string;
  kind: FieldKind;
}

/** The whitelist of one object type. */
export interface ListSpec {
  /** The object type, for error messages (`container`). */
  type: string;
  fields: Record<string, ListField>;
  /** Field sorted on when the query names none (Splunk SOAR sorts by id). */
  defaultSort?: string;
  defaultOrder?: 'asc' | 'desc';
}

/** Django-style lookups Splunk SOAR accepts after a field name. */
export const LOOKUPS = [
  'exact',
  'iexact',
  'contains',
  'icontains',
  'in',
  'gt',
  'gte',
  'lt',
  'lte',
  'startswith',
  'istartswith',
  'endswith',
  'iendswith',
  'isnull',
] as const;
export type Lookup = (typeof LOOKUPS)[number];

/** A literal in a filter value: quoted string, number, boolean, null, or a list of those. */
export type FilterScalar = string | number | boolean | null;
export type FilterValue = FilterScalar | FilterScalar[];

/** One parsed `_filter_`/`_exclude_` parameter. */
export interface Filter {
  /** The query parameter as given, for error messages. */
  param: string;
  field: string;
  /** Keys into a JSON field (`cef__destinationAddress` → `['destinationAddress']`). */
  path: string[];
  lookup: Lookup;
  value: FilterValue;
  exclude: boolean;
}

/** A parsed list query. */
export interface ListQuery {
  page: number;
  /** 0 means all rows. */
  pageSize: number;
  sort: string;
  order: 'asc' | 'desc';
  filters: Filter[];
}

/** Splunk SOAR's list envelope. */
export interface ListEnvelope<T> {
  count: number;
  num_pages: number;
  data: T[];
}

export const DEFAULT_PAGE_SIZE = 10;

/**
 * Parses a filter value as Splunk SOAR clients write it: `"events"` or `'events'` (strings are
 * quoted), `42`, `-1.5`, `true`/`false` (also Python's `True`/`False`), `null`/`None`, or a list
 * `["a", "b"]` / `(1, 2)` of those. Throws a user error naming `param` for anything else.
 */
export function parseFilterValue(text: string, param: string): FilterValue {
  const p = new ValueParser(text, param);
  p.skipSpace();
  const v = p.peek() === '[' || p.peek() === '(' ? p.list() : p.scalar();
  p.skipSpace();
  if (!p.done()) p.fail(`unexpected "${text.slice(p.pos)}"`);
  return v;
}

class ValueParser {
  pos = 0;
  constructor(
    readonly text: string,
    readonly param: string,
  ) {}
  done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): string | undefined {
    return this.text[this.pos];
  }
  skipSpace(): void {
    while (!this.done() && /\s/.test(this.text[this.pos]!)) this.pos++;
  }
  fail(why: string): never {
    throw badRequest(
      `${this.param}: invalid filter value ${JSON.stringify(this.text)} at character ${this.pos}: ${why} ` +
        `(quote strings: ${this.param}="value"; numbers, true/false and null unquoted; lists as ["a","b"])`,
      { parameter: this.param, offset: this.pos },
    );
  }
  list(): FilterScalar[] {
    const close = this.peek() === '[' ? ']' : ')';
    this.pos++;
    const out: FilterScalar[] = [];
    this.skipSpace();
    if (this.peek() === close) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      out.push(this.scalar());
      this.skipSpace();
      const c = this.peek();
      if (c === ',') {
        this.pos++;
        this.skipSpace();
        // Python tuples allow a trailing comma: (1,)
        if (this.peek() === close) {
          this.pos++;
          return out;
        }
        continue;
      }
      if (c === close) {
        this.pos++;
        return out;
      }
      this.fail(c === undefined ? `missing "${close}"` : `expected "," or "${close}"`);
    }
  }
  scalar(): FilterScalar {
    const c = this.peek();
    if (c === '"' || c === "'") return this.quoted(c);
    const m = /^[^\s,\])]+/.exec(this.text.slice(this.pos));
    if (!m) this.fail(c === undefined ? 'missing value' : `unexpected "${c}"`);
    const word = m[0];
    let v: FilterScalar;
    if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(word)) v = Number(word);
    else if (word === 'true' || word === 'True') v = true;
    else if (word === 'false' || word === 'False') v = false;
    else if (word === 'null' || word === 'None') v = null;
    else this.fail(`unquoted string ${JSON.stringify(word)}`);
    this.pos += word.length;
    return v;
  }
  quoted(q: string): string {
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) this.fail(`unterminated string (missing ${q})`);
      this.pos++;
      if (c === q) return out;
      if (c === '\\') {
        const n = this.text[this.pos];
        if (n === undefined) this.fail('unterminated escape');
        this.pos++;
        out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
      } else out += c;
    }
  }
}

type QueryInput = Record<string, unknown>;

function single(query: QueryInput, key: string): string | undefined {
  const v = query[key];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) {
    if (v.length !== 1) throw badRequest(`${key}: given ${v.length} times; give it once`, { parameter: key });
    return String(v[0]);
  }
  return String(v);
}

function nonNegativeInt(query: QueryInput, key: string, dflt: number): number {
  const s = single(query, key);
  if (s === undefined || s === '') return dflt;
  if (!/^\d+$/.test(s.trim()))
    throw badRequest(`${key}: must be a whole number ≥ 0, got ${JSON.stringify(s)}`, { parameter: key });
  const n = Number(s.trim());
  if (!Number.isSafeInteger(n)) throw badRequest(`${key}: ${s} is too large`, { parameter: key });
  return n;
}

/**
 * Parses a list query (the raw query-string object) against a type's whitelist. Unknown filter
 * fields, unknown lookups, lookups a field's kind does not support, values of the wrong type and
 * sorting on an unknown field are user errors (HTTP 400) naming the parameter. Parameters that are not
 * list parameters (`pretty`, `include_expensive`, a route's own) are left to the route.
 */
export function parseListQuery(query: QueryInput, spec: ListSpec): ListQuery {
  const page = nonNegativeInt(query, 'page', 0);
  const pageSize = nonNegativeInt(query, 'page_size', DEFAULT_PAGE_SIZE);
  const sort = single(query, 'sort') || spec.defaultSort || 'id';
  if (
    !(sort in spec.fields) ||
    spec.fields[sort]!.kind === 'json' ||
    spec.fields[sort]!.kind === 'jsonArray'
  ) {
    throw badRequest(`sort: cannot sort ${spec.type} by "${sort}" (sortable: ${sortable(spec).join(', ')})`, {
      parameter: 'sort',
    });
  }
  const orderRaw = (single(query, 'order') || spec.defaultOrder || 'asc').toLowerCase();
  if (orderRaw !== 'asc' && orderRaw !== 'desc')
    throw badRequest(`order: must be "asc" or "desc", got ${JSON.stringify(orderRaw)}`, {
      parameter: 'order',
    });
  const filters: Filter[] = [];
  for (const [key, raw] of Object.entries(query)) {
    const exclude = key.startsWith('_exclude_');
    if (!exclude && !key.startsWith('_filter_')) continue;
    const values = Array.isArray(raw) ? raw.map(String) : [String(raw)];
    for (const text of values) filters.push(parseFilter(key, text, spec, exclude));
  }
  return { page, pageSize, sort, order: orderRaw, filters };
}

function sortable(spec: ListSpec): string[] {
  return Object.entries(spec.fields)
    .filter(([, f]) => f.kind !== 'json' && f.kind !== 'jsonArray')
    .map(([k]) => k);
}

const KIND_LOOKUPS: Record<FieldKind, readonly Lookup[]> = {
  text: LOOKUPS,
  int: ['exact', 'in', 'gt', 'gte', 'lt', 'lte', 'isnull'],
  time: ['exact', 'in', 'gt', 'gte', 'lt', 'lte', 'isnull'],
  bool: ['exact', 'isnull'],
  // _filter_tags="pci" or __contains="pci": holds it; a list: holds them all (exact: is that list).
  jsonArray: ['exact', 'contains', 'isnull'],
  // Keys inside a JSON object compare as text (what ->> gives); numbers also order numerically.
  json: LOOKUPS,
};

/** Parses one `_filter_…` / `_exclude_…` parameter. */
export function parseFilter(param: string, text: string, spec: ListSpec, exclude = false): Filter {
  const name = param.slice(exclude ? '_exclude_'.length : '_filter_'.length);
  const parts = name.split('__');
  const field = parts[0]!;
  const def = spec.fields[field];
  if (!field || !def) {
    throw badRequest(
      `${param}: ${spec.type} has no field "${field}" to filter on (fields: ${Object.keys(spec.fields).join(', ')})`,
      { parameter: param },
    );
  }
  let rest = parts.slice(1);
  let lookup: Lookup = 'exact';
  const last = rest[rest.length - 1];
  if (last !== undefined && (LOOKUPS as readonly string[]).includes(last)) {
    lookup = last as Lookup;
    rest = rest.slice(0, -1);
  }
  if (rest.length > 0 && def.kind !== 'json') {
    throw badRequest(
      `${param}: unknown lookup "${rest.join('__')}" on ${field} (lookups: ${KIND_LOOKUPS[def.kind].join(', ')})`,
      { parameter: param },
    );
  }
  if (rest.some((k) => k === ''))
    throw badRequest(`${param}: empty key in the field path`, { parameter: param });
  const kind: FieldKind = def.kind === 'json' && rest.length === 0 ? 'jsonArray' : def.kind;
  if (def.kind === 'json' && rest.length === 0 && lookup !== 'isnull') {
    throw badRequest(
      `${param}: ${field} is an object; filter on one of its keys, e.g. _filter_${field}__key="value"`,
      {
        parameter: param,
      },
    );
  }
  if (!KIND_LOOKUPS[kind].includes(lookup)) {
    throw badRequest(
      `${param}: lookup "${lookup}" does not apply to ${field} (lookups: ${KIND_LOOKUPS[kind].join(', ')})`,
      {
        parameter: param,
      },
    );
  }
  const value = parseFilterValue(text, param);
  const checked = checkValue(param, field, def.kind, lookup, value);
  return { param, field, path: rest, lookup, value: checked, exclude };
}

function checkValue(
  param: string,
  field: string,
  kind: FieldKind,
  lookup: Lookup,
  value: FilterValue,
): FilterValue {
  if (lookup === 'isnull') {
    if (typeof value !== 'boolean')
      throw badRequest(`${param}: __isnull takes true or false`, { parameter: param });
    return value;
  }
  if (lookup === 'in') {
    if (!Array.isArray(value))
      throw badRequest(`${param}: __in takes a list such as ["a","b"] or [1,2]`, { parameter: param });
    return value.map((v) => checkScalar(param, field, kind, lookup, v));
  }
  if (Array.isArray(value)) {
    if (kind === 'jsonArray') return value.map((v) => checkScalar(param, field, kind, lookup, v));
    throw badRequest(`${param}: a list is only accepted with __in`, { parameter: param });
  }
  return checkScalar(param, field, kind, lookup, value);
}

function checkScalar(
  param: string,
  field: string,
  kind: FieldKind,
  lookup: Lookup,
  v: FilterScalar,
): FilterScalar {
  const wrong = (want: string) =>
    badRequest(`${param}: ${field} takes ${want}, got ${JSON.stringify(v)}`, { parameter: param });
  if (v === null) {
    if (lookup === 'exact') return null;
    throw wrong('a non-null value with this lookup');
  }
  switch (kind) {
    case 'int':
      if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
      if (typeof v === 'string' && /^-?\d{1,15}$/.test(v)) return Number(v);
      throw wrong('a whole number');
    case 'bool':
      if (typeof v === 'boolean') return v;
      throw wrong('true or false');
    case 'time': {
      if (typeof v !== 'string' || Number.isNaN(Date.parse(v)))
        throw wrong('an ISO-8601 time such as "2024-01-31T12:00:00Z"');
      return new Date(v).toISOString();
    }
    case 'text':
      if (typeof v === 'boolean') throw wrong('a string');
      return String(v);
    case 'jsonArray':
      if (typeof v === 'boolean') throw wrong('a string or number');
      return v;
    case 'json':
      return v;
  }
}

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The SQL condition for one filter: identifiers from the whitelist, values bound as parameters. */
export function filterCondition(f: Filter, spec: ListSpec): RawBuilder<SqlBool> {
  const def = spec.fields[f.field]!;
  const col = sql.ref(def.column);
  let cond: RawBuilder<SqlBool>;
  if (def.kind === 'json' && f.path.length > 0) cond = jsonPathCondition(col, f);
  else if (def.kind === 'jsonArray' || def.kind === 'json') {
    cond =
      f.lookup === 'isnull'
        ? f.value
          ? sql<SqlBool>`(${col} is null or ${col} = 'null'::jsonb)`
          : sql<SqlBool>`(${col} is not null and ${col} <> 'null'::jsonb)`
        : f.lookup === 'exact' && Array.isArray(f.value)
          ? sql<SqlBool>`${col} = ${JSON.stringify(f.value)}::jsonb`
          : sql<SqlBool>`${col} @> ${JSON.stringify(Array.isArray(f.value) ? f.value : [f.value])}::jsonb`;
  } else cond = scalarCondition(col, def.kind, f.lookup, f.value);
  return f.exclude ? sql<SqlBool>`not coalesce(${cond}, false)` : cond;
}

function scalarCondition(
  col: RawBuilder<unknown>,
  kind: FieldKind,
  lookup: Lookup,
  value: FilterValue,
): RawBuilder<SqlBool> {
  const bind = (v: FilterScalar) => (kind === 'time' ? sql`${v}::timestamptz` : sql`${v}`);
  const one = value as FilterScalar;
  switch (lookup) {
    case 'exact':
      return one === null ? sql<SqlBool>`${col} is null` : sql<SqlBool>`${col} = ${bind(one)}`;
    case 'iexact':
      return sql<SqlBool>`lower(${col}) = lower(${one})`;
    case 'contains':
      return sql<SqlBool>`${col} like ${`%${likeEscape(String(one))}%`}`;
    case 'icontains':
      return sql<SqlBool>`${col} ilike ${`%${likeEscape(String(one))}%`}`;
    case 'startswith':
      return sql<SqlBool>`${col} like ${`${likeEscape(String(one))}%`}`;
    case 'istartswith':
      return sql<SqlBool>`${col} ilike ${`${likeEscape(String(one))}%`}`;
    case 'endswith':
      return sql<SqlBool>`${col} like ${`%${likeEscape(String(one))}`}`;
    case 'iendswith':
      return sql<SqlBool>`${col} ilike ${`%${likeEscape(String(one))}`}`;
    case 'in': {
      const list = (value as FilterScalar[]).filter((v) => v !== null);
      const hasNull = (value as FilterScalar[]).includes(null);
      const inList = list.length
        ? sql<SqlBool>`${col} in (${sql.join(list.map(bind))})`
        : sql<SqlBool>`false`;
      return hasNull ? sql<SqlBool>`(${inList} or ${col} is null)` : inList;
    }
    case 'gt':
      return sql<SqlBool>`${col} > ${bind(one)}`;
    case 'gte':
      return sql<SqlBool>`${col} >= ${bind(one)}`;
    case 'lt':
      return sql<SqlBool>`${col} < ${bind(one)}`;
    case 'lte':
      return sql<SqlBool>`${col} <= ${bind(one)}`;
    case 'isnull':
      return value ? sql<SqlBool>`${col} is null` : sql<SqlBool>`${col} is not null`;
  }
}

function jsonPathCondition(col: RawBuilder<unknown>, f: Filter): RawBuilder<SqlBool> {
  // col -> 'k1' -> ... ->> 'kn': each key a bound parameter.
  let node: RawBuilder<unknown> = col;
  const keys = f.path;
  for (let i = 0; i < keys.length - 1; i++) node = sql`(${node} -> ${keys[i]!}::text)`;
  const text = sql`(${node} ->> ${keys[keys.length - 1]!}::text)`;
  const numeric = sql`(case when ${text} ~ '^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$' then ${text}::numeric end)`;
  const cmp = (op: RawBuilder<unknown>) =>
    typeof f.value === 'number'
      ? sql<SqlBool>`${numeric} ${op} ${f.value}::numeric`
      : sql<SqlBool>`${text} ${op} ${String(f.value)}`;
  switch (f.lookup) {
    case 'exact':
      return f.value === null
        ? sql<SqlBool>`${text} is null`
        : sql<SqlBool>`${text} = ${stringify(f.value as FilterScalar)}`;
    case 'in': {
      const list = (f.value as FilterScalar[]).filter((v) => v !== null).map(stringify);
      return list.length ? sql<SqlBool>`${text} in (${sql.join(list)})` : sql<SqlBool>`false`;
    }
    case 'gt':
      return cmp(sql.raw('>'));
    case 'gte':
      return cmp(sql.raw('>='));
    case 'lt':
      return cmp(sql.raw('<'));
    case 'lte':
      return cmp(sql.raw('<='));
    default:
      return scalarCondition(
        text,
        'text',
        f.lookup,
        f.lookup === 'isnull' ? f.value : stringify(f.value as FilterScalar),
      );
  }
}

// A JSON value as ->> renders it: strings bare, numbers and booleans as their JSON text.
const stringify = (v: FilterScalar): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** All filters of a query ANDed together (true when there are none). */
export function whereAll(q: ListQuery, spec: ListSpec): Expression<SqlBool> {
  if (q.filters.length === 0) return sql<SqlBool>`true`;
  return sql<SqlBool>`(${sql.join(
    q.filters.map((f) => filterCondition(f, spec)),
    sql` and `,
  )})`;
}

/** `order by` for a query: the chosen field, then id as a tie-breaker so pages are stable. */
export function orderBy(q: ListQuery, spec: ListSpec): RawBuilder<unknown> {
  const col = sql.ref(spec.fields[q.sort]!.column);
  const dir = sql.raw(q.order === 'desc' ? 'desc' : 'asc');
  const idField = spec.fields.id;
  if (!idField || q.sort === 'id') return sql`${col} ${dir}`;
  return sql`${col} ${dir}, ${sql.ref(idField.column)} ${dir}`;
}

/** Number of pages Splunk SOAR reports for a count and page size. */
export function numPages(count: number, pageSize: number): number {
  if (count === 0) return 0;
  return pageSize === 0 ? 1 : Math.ceil(count / pageSize);
}

/**
 * Runs a list query: `count` gives the number of matching rows for a WHERE condition, `fetch` the
 * rows of one page for the condition, order, limit and offset (limit null = all).
 */
export async function runList<R, T>(
  q: ListQuery,
  spec: ListSpec,
  ops: {
    count: (where: Expression<SqlBool>) => Promise<number>;
    fetch: (
      where: Expression<SqlBool>,
      order: RawBuilder<unknown>,
      limit: number | null,
      offset: number,
    ) => Promise<R[]>;
    map: (row: R) => T;
  },
): Promise<ListEnvelope<T>> {
  const where = whereAll(q, spec);
  const count = await ops.count(where);
  const rows =
    q.pageSize === 0
      ? q.page > 0
        ? []
        : await ops.fetch(where, orderBy(q, spec), null, 0)
      : await ops.fetch(where, orderBy(q, spec), q.pageSize, q.page * q.pageSize);
  return { count, num_pages: numPages(count, q.pageSize), data: rows.map(ops.map) };
}
