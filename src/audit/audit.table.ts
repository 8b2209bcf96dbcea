import type { ColumnType, Generated, JSONColumnType } from 'kysely';

/** One entry of the audit log: who (`actor`) did what (`action`) to which object, when. */
export interface AuditLogTable {
  id: Generated<number>;
  time: ColumnType<Date, Date | string | undefined, never>;
  category: string;
  action: string;
  actor: string;
  object_type: Generated<string>;
  object_id: string | null;
  container_id: number | null;
  details: JSONColumnType<Record<string, unknown>, string | undefined, never>;
}

export interface AuditTables {
  audit_log: AuditLogTable;
}
