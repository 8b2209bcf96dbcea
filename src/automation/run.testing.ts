import { randomBytes } from 'node:crypto';
import { createLogger } from '../logging/index.ts';
import type { Store } from '../store/index.ts';
import { BUILTIN_APPS } from '../apps/index.ts';
import { AppRegistry } from './app.registry.ts';
import type { PlaybookDeps } from './playbook.engine.ts';
import { PlaybookRegistry, type PlaybookDefinition } from './playbook.types.ts';

/** Engine dependencies over a test store, with the built-in apps and the given playbooks. */
export function testDeps(
  store: Store,
  playbooks: PlaybookDefinition[],
  over: Partial<PlaybookDeps> = {},
): PlaybookDeps {
  const apps = new AppRegistry();
  for (const a of BUILTIN_APPS) apps.register(a);
  const reg = new PlaybookRegistry();
  for (const p of playbooks) reg.register(p);
  return {
    db: store.db,
    apps,
    playbooks: reg,
    secretKey: randomBytes(32),
    logger: createLogger('silent'),
    vault: undefined,
    actionTimeoutMs: 10_000,
    runTimeLimitMs: 60_000,
    resultVaultThreshold: 256 * 1024,
    ...over,
  };
}

/** Polls `check` until it returns a value other than undefined (tests only; gives up after `ms`). */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  ms = 20_000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
