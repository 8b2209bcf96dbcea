export { openStore, redactUrl, type Store, type StoreKind, type OpenStoreOptions } from './store.ts';
export { lockDataDir, type DataDirLock } from './lock.ts';
export type { Database } from './schema.ts';
