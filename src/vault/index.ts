export type { VaultTables, VaultFileTable } from './vault.table.ts';
export {
  putVault,
  getVault,
  openVault,
  hasVault,
  vaultPath,
  vaultRoot,
  type VaultContext,
  type VaultObject,
} from './vault.store.ts';
export { addVaultFile, listVaultInfo, getVaultFile, type VaultInfo } from './vault.repository.ts';
export { registerVaultRoutes } from './vault.routes.ts';
