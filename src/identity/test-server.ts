import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { buildServer, type AppContext } from '../api/index.ts';
import { loadConfig } from '../config/index.ts';
import { createLogger } from '../logging/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { ROLES, type Role } from './identity.table.ts';
import { createToken } from './token.repository.ts';
import { createUser } from './user.repository.ts';

/** A real server (every route of `src/api/routes.ts`) over a fresh store, for in-process tests. */
export interface TestServer {
  app: FastifyInstance;
  ctx: AppContext;
  store: Store;
  /** One API token per role, for users named after their role (`admin` is `admin-user`). */
  tokens: Record<Role, string>;
  /** Moves the injectable clock forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

/**
 * Builds the real application for tests: settings from `env` (e.g. `PORTCULLIS_LOGIN_LOCKOUT_THRESHOLD`),
 * a store from `makeStore` (default in-memory PGlite), logs to `logTo` (default silent).
 */
export async function startTestServer(
  opts: { env?: Record<string, string>; makeStore?: () => Promise<Store>; logTo?: DestinationStream } = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-idt-'));
  const config = loadConfig({ PORTCULLIS_DATA_DIR: dataDir, ...opts.env });
  const logger = opts.logTo ? createLogger('trace', opts.logTo) : createLogger('silent', { write: () => {} });
  const store = await (opts.makeStore ?? (() => openStore({ databaseUrl: 'memory://' })))();
  let offset = 0;
  const stops: Array<() => Promise<void> | void> = [];
  const ctx: AppContext = {
    config,
    store,
    db: store.db,
    logger,
    now: () => new Date(Date.now() + offset),
    onShutdown: (fn) => stops.push(fn),
  };
  const tokens = {} as Record<Role, string>;
  for (const role of ROLES) {
    const u = await createUser(store.db, { username: `${role}-user`, role });
    tokens[role] = (
      await createToken(store.db, { userId: u.id, name: `${role} test token`, kind: 'api' })
    ).token;
  }
  const app = await buildServer(ctx);
  await app.ready();
  return {
    app,
    ctx,
    store,
    tokens,
    advance: (ms) => {
      offset += ms;
    },
    async close() {
      await app.close();
      for (const fn of stops.reverse()) await fn();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
