import type { BaselineContext } from '../baseline/index.ts';
import { createLogger } from '../logging/index.ts';
import { openStore, type Store } from '../store/index.ts';

/**
 * A fresh, migrated in-memory store and a baseline context on it: a silent logger, a fixed clock
 * (2026-11-24T12:00:00Z) and listeners that go `gone` only after ten years, so generated evidence of
 * any date stays live.
 */
export async function openBaselineStore(): Promise<{ store: Store; ctx: BaselineContext }> {
  const store = await openStore({ databaseUrl: 'memory://' });
  const ctx: BaselineContext = {
    db: store.db,
    config: { goneAfter: '3650d' },
    logger: createLogger('silent', { write: () => {} }),
    now: () => new Date('2026-11-24T12:00:00Z'),
  };
  return { store, ctx };
}
