import type { ColumnType, Generated, JSONColumnType } from 'kysely';

/** A file added to the vault, as seen from a container: the bytes live on disk under their sha256. */
export interface VaultFileTable {
  id: Generated<number>;
  vault_id: string;
  container_id: number | null;
  name: Generated<string>;
  size: number;
  metadata: JSONColumnType<Record<string, unknown>, string | undefined, string>;
  created_by: Generated<string>;
  create_time: ColumnType<Date, Date | string | undefined, never>;
}

export interface VaultTables {
  vault_files: VaultFileTable;
}
