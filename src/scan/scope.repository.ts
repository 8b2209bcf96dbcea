import type { Kysely } from 'kysely';
import type { Database } from '../store/index.ts';
import { conflict, notFound } from '../util/errors.ts';
import { parseCidr, type ScopeKind, type ScopeRule } from './scope.ts';

type Db = Kysely<Database>;

/** A scope entry as the API shows it. */
export interface ScopeView {
  id: number;
  cidr: string;
  kind: ScopeKind;
  note: string;
  created_by: string | null;
  created_at: string;
}

/** Every scope entry, allow rules first, then by address. */
export async function listScopes(db: Db): Promise<ScopeView[]> {
  const rows = await db.selectFrom('scan_scopes').selectAll().orderBy('kind').orderBy('cidr').execute();
  return rows.map((r) => ({
    id: r.id,
    cidr: r.cidr,
    kind: r.kind as ScopeKind,
    note: r.note,
    created_by: r.created_by,
    created_at: new Date(r.created_at).toISOString(),
  }));
}

/** The rules a scan checks its targets against (read fresh for every scan). */
export async function loadScopeRules(db: Db): Promise<ScopeRule[]> {
  const rows = await db.selectFrom('scan_scopes').select(['cidr', 'kind']).execute();
  return rows.map((r) => ({ cidr: r.cidr, kind: r.kind as ScopeKind }));
}

/** Adds a scope entry (the CIDR is normalised); refuses an exact duplicate. */
export async function addScope(
  db: Db,
  input: { cidr: string; kind?: ScopeKind; note?: string; createdBy?: string | null },
): Promise<ScopeView> {
  const block = parseCidr(input.cidr);
  const kind = input.kind ?? 'allow';
  const existing = await db
    .selectFrom('scan_scopes')
    .select('id')
    .where('cidr', '=', block.cidr)
    .where('kind', '=', kind)
    .executeTakeFirst();
  if (existing) throw conflict(`${kind} scope ${block.cidr} already exists (id ${existing.id})`);
  const row = await db
    .insertInto('scan_scopes')
    .values({ cidr: block.cidr, kind, note: input.note ?? '', created_by: input.createdBy ?? null })
    .returningAll()
    .executeTakeFirstOrThrow();
  return {
    id: row.id,
    cidr: row.cidr,
    kind,
    note: row.note,
    created_by: row.created_by,
    created_at: new Date(row.created_at).toISOString(),
  };
}

/**
 * Removes scope entries by id or by CIDR (normalised; both kinds unless `kind` is given). Returns what
 * was removed; nothing matching is a not-found error.
 */
export async function removeScope(
  db: Db,
  ref: { id?: number; cidr?: string; kind?: ScopeKind },
): Promise<ScopeView[]> {
  const all = await listScopes(db);
  let matches: ScopeView[];
  if (ref.id !== undefined) matches = all.filter((s) => s.id === ref.id);
  else {
    const cidr = parseCidr(ref.cidr ?? '').cidr;
    matches = all.filter((s) => s.cidr === cidr && (ref.kind === undefined || s.kind === ref.kind));
  }
  if (matches.length === 0)
    throw notFound(`scope ${ref.id !== undefined ? `id ${ref.id}` : JSON.stringify(ref.cidr)}`);
  await db
    .deleteFrom('scan_scopes')
    .where(
      'id',
      'in',
      matches.map((m) => m.id),
    )
    .execute();
  return matches;
}
