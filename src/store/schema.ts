import type { AuditTables } from '../audit/audit.table.ts';
import type { BaselineTables } from '../baseline/service.table.ts';
import type { ContainerTables } from '../automation/container.table.ts';
import type { AutomationRunTables } from '../automation/run.table.ts';
import type { IdentityTables } from '../identity/identity.table.ts';
import type { ScanTables } from '../scan/scan.table.ts';
import type { VaultTables } from '../vault/vault.table.ts';

/** Key/value settings kept in the database (e.g. the instance's identity). */
export interface SettingTable {
  key: string;
  value: unknown;
}

/**
 * The whole database, composed from each domain's table types. A domain adds its `*.table.ts`
 * interface here and its migrations to `migrations/index.ts`.
 */
export interface Database
  extends
    BaselineTables,
    IdentityTables,
    ContainerTables,
    AuditTables,
    VaultTables,
    AutomationRunTables,
    ScanTables {
  settings: SettingTable;
}
