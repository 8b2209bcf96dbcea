export type { AuditTables, AuditLogTable } from './audit.table.ts';
export {
  recordAudit,
  listAudit,
  iterateAudit,
  AUDIT_LIST,
  type AuditEntry,
  type AuditRecord,
} from './audit.repository.ts';
export { registerAuditRoutes } from './audit.routes.ts';
