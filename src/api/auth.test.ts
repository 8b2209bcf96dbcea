import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { loadConfig } from '../config/index.ts';
import { createLogger } from '../logging/index.ts';
import { openStore } from '../store/index.ts';
import { installAuth } from './auth.ts';
import type { AppContext } from './context.ts';

async function bareApp(requireRouteRules: boolean, logLines: string[] = []) {
  const store = await openStore({ databaseUrl: 'memory://' });
  const ctx: AppContext = {
    config: loadConfig({ PORTCULLIS_DATA_DIR: '/tmp/portcullis-auth-test' }),
    store,
    db: store.db,
    logger: createLogger('warn', { write: (s: string) => void logLines.push(s) }),
    now: () => new Date(),
    onShutdown: () => {},
  };
  const app = Fastify();
  await installAuth(app, ctx, {
    requireRouteRules,
    permissions: { 'GET /listed': 'public', 'POST /listed': ['admin'] },
  });
  return { app, close: async () => (await app.close(), await store.close()) };
}

describe('route rules at registration', () => {
  it('refuses to register a route the permission table does not name', async () => {
    const { app, close } = await bareApp(true);
    try {
      app.get('/listed', async () => 'ok');
      app.post('/listed', async () => 'ok');
      assert.throws(
        () => app.get('/unlisted', async () => 'no'),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'route_without_rule');
          assert.match(e.message, /GET \/unlisted has no entry in the permission table/);
          return true;
        },
      );
      assert.throws(() => app.delete('/listed', async () => 'no'), /DELETE \/listed has no entry/);
    } finally {
      await close();
    }
  });

  it('only warns while rules are not yet required', async () => {
    const lines: string[] = [];
    const { app, close } = await bareApp(false, lines);
    try {
      app.get('/unlisted', async () => 'ok');
      await app.ready();
      assert.ok(lines.some((l) => l.includes('GET /unlisted has no entry')));
      assert.equal((await app.inject({ method: 'GET', url: '/unlisted' })).statusCode, 401);
    } finally {
      await close();
    }
  });
});
