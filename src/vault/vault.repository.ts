import type { Kysely } from 'kysely';
import { recordAudit } from '../audit/audit.repository.ts';
import { parseListQuery, runList, type ListEnvelope, type ListSpec } from '../automation/rest-list.ts';
import type { Database } from '../store/index.ts';
import { badRequest } from '../util/errors.ts';
import { putVault, vaultPath, type VaultContext } from './vault.store.ts';

/** A vault entry as `/rest/vault_info` returns it. */
export interface VaultInfo {
  id: number;
  vault_id: string;
  /** Splunk SOAR names the file `name`; `file_name` is accepted as an alias. */
  name: string;
  size: number;
  container: number | null;
  container_id: number | null;
  metadata: Record<string, unknown>;
  created_by: string;
  create_time: string;
  /** Where the bytes are on the server's disk. */
  path: string;
}

/**
 * Stores a file in the vault and records it against a container (Splunk SOAR's `vault_add`).
 * Returns the entry id and the file's sha256 (the vault id). Audited.
 */
export async function addVaultFile(
  db: Kysely<Database>,
  ctx: VaultContext,
  input: {
    containerId: number | null;
    data: Buffer | Uint8Array | string | AsyncIterable<Uint8Array>;
    fileName?: string;
    metadata?: Record<string, unknown>;
    actor?: string;
  },
): Promise<{ id: number; vault_id: string; size: number }> {
  if (input.containerId !== null) {
    const c = await db
      .selectFrom('containers')
      .select('id')
      .where('id', '=', input.containerId)
      .executeTakeFirst();
    if (!c) throw badRequest(`container_id: no container ${input.containerId}`, { pointer: '/container_id' });
  }
  const obj = await putVault(ctx, input.data);
  const actor = input.actor ?? 'system';
  return db.transaction().execute(async (tx) => {
    const row = await tx
      .insertInto('vault_files')
      .values({
        vault_id: obj.sha256,
        container_id: input.containerId,
        name: input.fileName ?? obj.sha256,
        size: obj.size,
        metadata: JSON.stringify(input.metadata ?? {}),
        created_by: actor,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await recordAudit(tx, {
      category: 'container',
      action: 'create',
      actor,
      object_type: 'vault_file',
      object_id: row.id,
      container_id: input.containerId,
      details: { vault_id: obj.sha256, name: input.fileName ?? obj.sha256, size: obj.size },
    });
    return { id: row.id, vault_id: obj.sha256, size: obj.size };
  });
}

export const VAULT_LIST: ListSpec = {
  type: 'vault_info',
  fields: {
    id: { column: 'id', kind: 'int' },
    vault_id: { column: 'vault_id', kind: 'text' },
    name: { column: 'name', kind: 'text' },
    file_name: { column: 'name', kind: 'text' },
    size: { column: 'size', kind: 'int' },
    container: { column: 'container_id', kind: 'int' },
    container_id: { column: 'container_id', kind: 'int' },
    created_by: { column: 'created_by', kind: 'text' },
    create_time: { column: 'create_time', kind: 'time' },
    metadata: { column: 'metadata', kind: 'json' },
  },
};

type Row = {
  id: number;
  vault_id: string;
  name: string;
  size: number;
  container_id: number | null;
  metadata: Record<string, unknown>;
  created_by: string;
  create_time: Date;
};

/** Lists vault entries (Splunk SOAR's `vault_info`: by `vault_id`, `container_id`, or `_filter_`s). */
export async function listVaultInfo(
  db: Kysely<Database>,
  ctx: VaultContext,
  query: Record<string, unknown>,
): Promise<ListEnvelope<VaultInfo>> {
  const { vault_id, container_id, ...rest } = query;
  const extra: Record<string, unknown> = { ...rest };
  if (vault_id !== undefined) extra._filter_vault_id = JSON.stringify(String(vault_id));
  if (container_id !== undefined) {
    if (!/^\d+$/.test(String(container_id)))
      throw badRequest(`container_id: must be a container id, got ${JSON.stringify(container_id)}`);
    extra._filter_container_id = String(container_id);
  }
  const q = parseListQuery(extra, VAULT_LIST);
  return runList(q, VAULT_LIST, {
    count: async (where) =>
      Number(
        (
          await db
            .selectFrom('vault_files')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where(where)
            .executeTakeFirstOrThrow()
        ).n,
      ),
    fetch: (where, order, limit, offset) => {
      let qb = db.selectFrom('vault_files').selectAll().where(where).orderBy(order).offset(offset);
      if (limit !== null) qb = qb.limit(limit);
      return qb.execute();
    },
    map: (r: Row): VaultInfo => ({
      id: r.id,
      vault_id: r.vault_id,
      name: r.name,
      size: Number(r.size),
      container: r.container_id,
      container_id: r.container_id,
      metadata: r.metadata,
      created_by: r.created_by,
      create_time: new Date(r.create_time).toISOString(),
      path: vaultPath(ctx, r.vault_id),
    }),
  });
}

/** One vault entry by its id, or undefined. */
export async function getVaultFile(db: Kysely<Database>, id: number): Promise<Row | undefined> {
  return db.selectFrom('vault_files').selectAll().where('id', '=', id).executeTakeFirst();
}
