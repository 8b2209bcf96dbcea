import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../store/index.ts';
import { badRequest, conflict, notFound } from '../util/errors.ts';
import type { AppManifest } from './app.manifest.ts';
import type { AppRegistry } from './app.registry.ts';
import { decryptSecret, encryptSecret } from '../util/secret-box.ts';
import type { AssetTable } from './run.table.ts';

export type AssetRow = Selectable<AssetTable>;

/** An asset as the API shows it: secret settings only as `set`/`unset`, never their value. */
export interface AssetView {
  id: number;
  name: string;
  app_id: string;
  app: string;
  product_vendor: string;
  product_name: string;
  description: string;
  configuration: Record<string, unknown>;
  secret_configuration: Record<string, 'set' | 'unset'>;
  tags: string[];
  create_time: string;
  update_time: string;
}

export interface AssetInput {
  name?: string;
  app_id?: string;
  appid?: string;
  app?: string;
  product_vendor?: string;
  product_name?: string;
  description?: string;
  configuration?: Record<string, unknown>;
  tags?: string[];
}

/** Field names of an app's configuration that are secret (`data_type: "password"`). */
export function secretFields(m: AppManifest): Set<string> {
  return new Set(
    Object.entries(m.configuration)
      .filter(([, f]) => f.data_type === 'password')
      .map(([k]) => k),
  );
}

function checkConfiguration(m: AppManifest, cfg: Record<string, unknown>, where: string): void {
  for (const [k, v] of Object.entries(cfg)) {
    const f = m.configuration[k];
    if (!f)
      throw badRequest(
        `${where}/configuration/${k}: unknown setting for app "${m.name}" (known: ${Object.keys(m.configuration).join(', ') || 'none'})`,
      );
    if (v === null) continue;
    if (f.data_type === 'numeric' && typeof v !== 'number')
      throw badRequest(`${where}/configuration/${k}: must be a number`);
    if (f.data_type === 'boolean' && typeof v !== 'boolean')
      throw badRequest(`${where}/configuration/${k}: must be true or false`);
    if ((f.data_type === 'string' || f.data_type === 'password') && typeof v !== 'string')
      throw badRequest(`${where}/configuration/${k}: must be a string`);
    if (f.value_list && !f.value_list.includes(String(v)))
      throw badRequest(`${where}/configuration/${k}: must be one of ${f.value_list.join(', ')}`);
  }
}

function aad(assetName: string, field: string): string {
  return `asset:${assetName}:${field}`;
}

/** Creates an asset; secret settings are encrypted before they reach the database. */
export async function createAsset(
  db: Kysely<Database>,
  apps: AppRegistry,
  key: Buffer,
  input: AssetInput,
): Promise<number> {
  if (!input.name || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(input.name))
    throw badRequest('/name: an asset needs a name of letters, digits, "_", "." or "-"');
  const app = apps.find({
    appid: input.app_id ?? input.appid,
    name: input.app,
    product_vendor: input.product_vendor,
    product_name: input.product_name,
  });
  const m = app.manifest;
  const cfg = input.configuration ?? {};
  checkConfiguration(m, cfg, '');
  const secrets = secretFields(m);
  const plain: Record<string, unknown> = {};
  const sealed: Record<string, string> = {};
  for (const [k, v] of Object.entries(cfg)) {
    if (v === null || v === '') continue;
    if (secrets.has(k)) sealed[k] = encryptSecret(key, String(v), aad(input.name, k));
    else plain[k] = v;
  }
  for (const [k, f] of Object.entries(m.configuration))
    if (f.required && plain[k] === undefined && sealed[k] === undefined && f.default === undefined)
      throw badRequest(`/configuration/${k}: required by app "${m.name}"`);
  clearAssetCache(db);
  const existing = await db
    .selectFrom('assets')
    .select('id')
    .where('name', '=', input.name)
    .executeTakeFirst();
  if (existing) throw conflict(`an asset named "${input.name}" already exists (id ${existing.id})`);
  const row = await db
    .insertInto('assets')
    .values({
      name: input.name,
      app_id: m.appid,
      description: input.description ?? '',
      configuration: JSON.stringify(plain) as never,
      secrets: JSON.stringify(sealed) as never,
      tags: JSON.stringify(input.tags ?? []) as never,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/**
 * Updates an asset. Configuration keys are merged: a given value replaces the stored one, `null`
 * removes it; a secret that is not mentioned stays as it was.
 */
export async function updateAsset(
  db: Kysely<Database>,
  apps: AppRegistry,
  key: Buffer,
  id: number,
  input: AssetInput,
): Promise<void> {
  clearAssetCache(db);
  const row = await getAssetRow(db, id);
  const app = apps.find({ appid: row.app_id });
  const m = app.manifest;
  const secrets = secretFields(m);
  const plain: Record<string, unknown> = { ...row.configuration };
  const sealed: Record<string, string> = { ...row.secrets };
  if (input.configuration) {
    checkConfiguration(m, input.configuration, '');
    for (const [k, v] of Object.entries(input.configuration)) {
      if (secrets.has(k)) {
        if (v === null || v === '') delete sealed[k];
        else sealed[k] = encryptSecret(key, String(v), aad(row.name, k));
      } else if (v === null) delete plain[k];
      else plain[k] = v;
    }
  }
  await db
    .updateTable('assets')
    .set({
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.tags !== undefined ? { tags: JSON.stringify(input.tags) as never } : {}),
      configuration: JSON.stringify(plain) as never,
      secrets: JSON.stringify(sealed) as never,
      update_time: new Date(),
    })
    .where('id', '=', id)
    .execute();
}

export async function deleteAsset(db: Kysely<Database>, id: number): Promise<void> {
  clearAssetCache(db);
  const r = await db.deleteFrom('assets').where('id', '=', id).executeTakeFirst();
  if (!r.numDeletedRows) throw notFound(`asset ${id}`);
}

export async function getAssetRow(db: Kysely<Database>, id: number): Promise<AssetRow> {
  const row = await db.selectFrom('assets').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound(`asset ${id}`);
  return row;
}

/** An asset by name or numeric id. */
export async function findAssetRow(db: Kysely<Database>, ref: string | number): Promise<AssetRow> {
  const q = db.selectFrom('assets').selectAll();
  const row =
    typeof ref === 'number' || /^\d+$/.test(ref)
      ? await q
          .where((eb) => eb.or([eb('id', '=', Number(ref)), eb('name', '=', String(ref))]))
          .executeTakeFirst()
      : await q.where('name', '=', ref).executeTakeFirst();
  if (!row) throw notFound(`asset "${ref}"`);
  return row;
}

// Assets change rarely and every action looks them up: keep them per app for a moment. Changes made
// in this process clear it at once; another node's changes show within the time to live.
const ASSET_CACHE_TTL_MS = 2000;
const assetCache = new WeakMap<object, Map<string, { rows: Promise<AssetRow[]>; at: number }>>();

function clearAssetCache(db: Kysely<Database>): void {
  assetCache.delete(db);
}

/** The assets of an app, from a cache of at most two seconds (one query for concurrent callers). */
export function cachedAssetRows(db: Kysely<Database>, appId: string): Promise<AssetRow[]> {
  let m = assetCache.get(db);
  if (!m) assetCache.set(db, (m = new Map()));
  const hit = m.get(appId);
  if (hit && Date.now() - hit.at < ASSET_CACHE_TTL_MS) return hit.rows;
  const rows = listAssetRows(db, appId);
  const entry = { rows, at: Date.now() };
  m.set(appId, entry);
  rows.catch(() => m.get(appId) === entry && m.delete(appId));
  return rows;
}

export async function listAssetRows(db: Kysely<Database>, appId?: string): Promise<AssetRow[]> {
  let q = db.selectFrom('assets').selectAll().orderBy('id');
  if (appId) q = q.where('app_id', '=', appId);
  return q.execute();
}

/** The asset's configuration with manifest defaults filled in and secrets decrypted, for the app only. */
export function assetConfiguration(row: AssetRow, m: AppManifest, key: Buffer): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(m.configuration)) if (f.default !== undefined) out[k] = f.default;
  Object.assign(out, row.configuration);
  for (const [k, v] of Object.entries(row.secrets)) out[k] = decryptSecret(key, v, aad(row.name, k));
  return out;
}

export function toAssetView(row: AssetRow, apps: AppRegistry): AssetView {
  const app = apps.get(row.app_id);
  const secretKeys = app ? secretFields(app.manifest) : new Set(Object.keys(row.secrets));
  const secret_configuration: Record<string, 'set' | 'unset'> = {};
  for (const k of secretKeys) secret_configuration[k] = row.secrets[k] ? 'set' : 'unset';
  return {
    id: row.id,
    name: row.name,
    app_id: row.app_id,
    app: app?.manifest.name ?? row.app_id,
    product_vendor: app?.manifest.product_vendor ?? '',
    product_name: app?.manifest.product_name ?? '',
    description: row.description,
    configuration: row.configuration,
    secret_configuration,
    tags: row.tags,
    create_time: row.create_time.toISOString(),
    update_time: row.update_time.toISOString(),
  };
}
