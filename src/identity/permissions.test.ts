import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registeredRoutes } from '../api/auth.ts';
import { ROLES, type Role } from './identity.table.ts';
import { AUDITED_CHANGES } from './change-audit.ts';
import { HEC, PERMISSIONS, PUBLIC, ruleFor, type Rule } from './permissions.ts';
import { startTestServer, type TestServer } from './test-server.ts';

// A request that reaches a handler but names nothing that exists, so allowed calls have no effect
// beyond a 4xx of their own (404, 400) or a harmless read.
function concreteUrl(url: string): string {
  return url.replace(/:[A-Za-z0-9_]+/g, '999999').replace(/\*/g, 'no-such-file');
}

function expectation(
  rule: Rule,
  who: Role | 'anonymous',
): 'refused-401' | 'refused-403' | 'refused-any' | 'allowed' {
  if (rule === PUBLIC) return 'allowed';
  if (rule === HEC) {
    if (who === 'anonymous') return 'refused-401';
    return who === 'admin' || who === 'automation' ? 'allowed' : 'refused-any';
  }
  if (who === 'anonymous') return 'refused-401';
  return rule.includes(who) ? 'allowed' : 'refused-403';
}

describe('the permission table, walked over every registered route', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(async () => {
    await srv?.close();
  });

  it('has a rule for every registered route', () => {
    const missing = registeredRoutes(srv.app)
      .filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS' && r.rule === undefined)
      .map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(
      missing,
      [],
      `routes without an entry in src/identity/permissions.ts:\n  ${missing.join('\n  ')}`,
    );
  });

  it('names no route that does not exist', () => {
    const registered = new Set(registeredRoutes(srv.app).map((r) => `${r.method} ${r.url}`));
    const stale = Object.keys(PERMISSIONS).filter((k) => !registered.has(k));
    assert.deepEqual(
      stale,
      [],
      `permission-table entries for routes nobody registers:\n  ${stale.join('\n  ')}`,
    );
  });

  it('audits configuration changes only on routes that exist', () => {
    const registered = new Set(registeredRoutes(srv.app).map((r) => `${r.method} ${r.url}`));
    const stale = Object.keys(AUDITED_CHANGES).filter((k) => !registered.has(k));
    assert.deepEqual(
      stale,
      [],
      `AUDITED_CHANGES entries for routes nobody registers:\n  ${stale.join('\n  ')}`,
    );
  });

  it('gives every route × (no credentials, each role) exactly the status its rule says', async () => {
    const wrong: string[] = [];
    const routes = registeredRoutes(srv.app).filter((r) => r.method !== 'OPTIONS');
    assert.ok(routes.length >= Object.keys(PERMISSIONS).length);
    for (const route of routes) {
      const rule = ruleFor(route.method, route.url);
      if (rule === undefined) continue; // reported by the first test
      for (const who of ['anonymous', ...ROLES] as const) {
        const headers: Record<string, string> = {};
        if (who !== 'anonymous') {
          if (rule === HEC) headers.authorization = `Splunk ${srv.tokens[who]}`;
          else headers['ph-auth-token'] = srv.tokens[who];
        }
        const withBody = !['GET', 'HEAD'].includes(route.method);
        // As a stream: event streams (text/event-stream) never end, the status is all we need.
        const abort = new AbortController();
        const res = await srv.app.inject({
          method: route.method as 'GET',
          url: concreteUrl(route.url),
          headers: withBody ? { ...headers, 'content-type': 'application/json' } : headers,
          ...(withBody ? { payload: '{}' } : {}),
          payloadAsStream: true,
          signal: abort.signal,
        });
        const stream = res.stream();
        stream.on('error', () => {});
        let body = '';
        if (!String(res.headers['content-type'] ?? '').startsWith('text/event-stream'))
          for await (const chunk of stream) body += String(chunk);
        abort.abort();
        stream.destroy();
        const want = expectation(rule, who);
        const got = res.statusCode;
        const ok =
          want === 'allowed'
            ? got !== 401 && got !== 403
            : want === 'refused-401'
              ? got === 401
              : want === 'refused-403'
                ? got === 403
                : got === 401 || got === 403;
        if (!ok)
          wrong.push(
            `${route.method} ${route.url} as ${who}: expected ${want}, got ${got} ${body.slice(0, 120)}`,
          );
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('refuses unknown API paths without credentials and 404s them with credentials', async () => {
    const anon = await srv.app.inject({ method: 'GET', url: '/rest/no_such_thing' });
    assert.equal(anon.statusCode, 401);
    const authed = await srv.app.inject({
      method: 'GET',
      url: '/rest/no_such_thing',
      headers: { 'ph-auth-token': srv.tokens.observer },
    });
    assert.equal(authed.statusCode, 404);
  });

  it('refuses HEC tokens on REST routes', async () => {
    const db = srv.store.db;
    const admin = await db
      .selectFrom('users')
      .select('id')
      .where('username', '=', 'admin-user')
      .executeTakeFirstOrThrow();
    const { createToken } = await import('./token.repository.ts');
    const { token } = await createToken(db, { userId: admin.id, name: 'hec', kind: 'hec' });
    const res = await srv.app.inject({ method: 'GET', url: '/api/me', headers: { 'ph-auth-token': token } });
    assert.equal(res.statusCode, 401);
  });
});
