import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generate } from 'otplib';
import { listAudit } from '../audit/index.ts';
import { testStores } from '../testing/stores.ts';
import { startTestServer, type TestServer } from './test-server.ts';
import { secretKeyFor } from '../util/secret-box.ts';
import { openTotpSecret, sealPlaintextTotpSecrets } from './totp.ts';
import { createUser } from './user.repository.ts';

const PASSWORD = 'correct horse battery staple';
const MINUTE = 60_000;

type Jar = { cookie: string; csrf: string };

async function signIn(
  srv: TestServer,
  username: string,
  password = PASSWORD,
  extra: Record<string, string> = {},
) {
  return srv.app.inject({ method: 'POST', url: '/api/login', payload: { username, password, ...extra } });
}

function jarOf(res: Awaited<ReturnType<TestServer['app']['inject']>>): Jar {
  const cookie = res.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  return { cookie, csrf: (res.json() as { csrf_token: string }).csrf_token };
}

const me = (srv: TestServer, jar: Jar) =>
  srv.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: jar.cookie } });

for (const [storeName, makeStore] of testStores()) {
  describe(`sign-in on ${storeName}`, () => {
    it('locks an account after 20 wrong passwords for the configured time, and audits every attempt', async () => {
      const srv = await startTestServer({
        makeStore,
        env: { PORTCULLIS_LOGIN_LOCKOUT_DURATION: '10m', PORTCULLIS_LOGIN_RATE_LIMIT: '1000' },
      });
      try {
        await createUser(srv.store.db, { username: 'alice', role: 'analyst', password: PASSWORD });
        for (let i = 1; i <= 19; i++)
          assert.equal((await signIn(srv, 'alice', `wrong password ${i}`)).statusCode, 401);
        // 19 failures do not lock: the right password still works and resets the count.
        assert.equal((await signIn(srv, 'alice')).statusCode, 200);
        for (let i = 1; i <= 20; i++)
          assert.equal((await signIn(srv, 'alice', `wrong password ${i}`)).statusCode, 401);
        const locked = await signIn(srv, 'alice');
        assert.equal(locked.statusCode, 401);
        assert.equal(locked.json().code, 'account_locked');
        srv.advance(9 * MINUTE);
        assert.equal((await signIn(srv, 'alice')).json().code, 'account_locked');
        srv.advance(2 * MINUTE);
        assert.equal((await signIn(srv, 'alice')).statusCode, 200);

        const audit = await listAudit(srv.store.db, {
          _filter_category: '"security"',
          _filter_actor: '"alice"',
          page_size: '0',
        });
        const actions = audit.data.map(
          (e) => `${e.action}${e.details.reason ? `:${String(e.details.reason)}` : ''}`,
        );
        const count = (a: string) => actions.filter((x) => x === a).length;
        assert.equal(count('login.failure:wrong password'), 39);
        assert.equal(count('account.locked'), 1);
        assert.equal(count('login.failure:account locked'), 2);
        assert.equal(count('login.success'), 2);
        // Through the API too, as an auditor would read it.
        const viaRest = await srv.app.inject({
          method: 'GET',
          url: '/rest/audit?_filter_action="account.locked"',
          headers: { 'ph-auth-token': srv.tokens.admin },
        });
        if (viaRest.statusCode !== 404) assert.equal(viaRest.json().count, 1);
      } finally {
        await srv.close();
      }
    });

    it('refuses an expired session (idle and absolute timeouts) and a revoked or expired token at once', async () => {
      const srv = await startTestServer({
        makeStore,
        env: { PORTCULLIS_SESSION_IDLE_TIMEOUT: '30m', PORTCULLIS_SESSION_MAX_AGE: '2h' },
      });
      try {
        await createUser(srv.store.db, { username: 'bob', role: 'observer', password: PASSWORD });
        const idle = jarOf(await signIn(srv, 'bob'));
        assert.equal((await me(srv, idle)).statusCode, 200);
        srv.advance(31 * MINUTE);
        assert.equal((await me(srv, idle)).statusCode, 401);

        const busy = jarOf(await signIn(srv, 'bob'));
        for (let t = 0; t < 5; t++) {
          srv.advance(20 * MINUTE);
          assert.equal((await me(srv, busy)).statusCode, 200);
        }
        srv.advance(25 * MINUTE); // 125 minutes after login, never idle for 30
        assert.equal((await me(srv, busy)).statusCode, 401);

        const admin = { 'ph-auth-token': srv.tokens.admin };
        const created = await srv.app.inject({
          method: 'POST',
          url: '/api/tokens',
          headers: admin,
          payload: { name: 'script', user: 'bob' },
        });
        assert.equal(created.statusCode, 201);
        const { id, token } = created.json() as { id: number; token: string };
        const use = () =>
          srv.app.inject({ method: 'GET', url: '/api/me', headers: { 'ph-auth-token': token } });
        assert.equal((await use()).statusCode, 200);
        assert.equal(
          (await srv.app.inject({ method: 'DELETE', url: `/api/tokens/${id}`, headers: admin })).statusCode,
          200,
        );
        assert.equal((await use()).statusCode, 401);

        const shortLived = await srv.app.inject({
          method: 'POST',
          url: '/api/tokens',
          headers: admin,
          payload: { expires_in: '1h' },
        });
        const short = (shortLived.json() as { token: string }).token;
        assert.equal(
          (await srv.app.inject({ method: 'GET', url: '/api/me', headers: { 'ph-auth-token': short } }))
            .statusCode,
          200,
        );
        srv.advance(61 * MINUTE);
        assert.equal(
          (await srv.app.inject({ method: 'GET', url: '/api/me', headers: { 'ph-auth-token': short } }))
            .statusCode,
          401,
        );
      } finally {
        await srv.close();
      }
    });
  });
}

describe('browser sessions', () => {
  it('sets secure HttpOnly SameSite=Strict cookies, needs the CSRF header on writes, and logs out everywhere', async () => {
    const srv = await startTestServer();
    try {
      await createUser(srv.store.db, { username: 'carol', role: 'analyst', password: PASSWORD });
      const res = await signIn(srv, 'carol');
      assert.equal(res.statusCode, 200);
      const session = res.cookies.find((c) => c.name === '__Host-portcullis_session');
      assert.ok(session);
      assert.equal(session.httpOnly, true);
      assert.equal(session.secure, true);
      assert.equal(session.sameSite, 'Strict');
      assert.equal(session.path, '/');
      const a = jarOf(res);
      const b = jarOf(await signIn(srv, 'carol'));
      assert.equal((await me(srv, a)).json().username, 'carol');

      const noCsrf = await srv.app.inject({
        method: 'POST',
        url: '/api/logout',
        headers: { cookie: a.cookie },
      });
      assert.equal(noCsrf.statusCode, 403);
      assert.equal(noCsrf.json().code, 'csrf_failed');
      const crossSite = await srv.app.inject({
        method: 'POST',
        url: '/api/logout',
        headers: {
          cookie: a.cookie,
          'x-csrf-token': a.csrf,
          origin: 'https://evil.example',
          host: 'portcullis.example:9999',
        },
      });
      assert.equal(crossSite.statusCode, 403);
      assert.equal((await me(srv, a)).statusCode, 200);

      const all = await srv.app.inject({
        method: 'POST',
        url: '/api/logout/all',
        headers: {
          cookie: a.cookie,
          'x-csrf-token': a.csrf,
          origin: 'https://portcullis.example:9999',
          host: 'portcullis.example:9999',
        },
      });
      assert.equal(all.statusCode, 200);
      assert.equal(all.json().sessions_revoked, 2);
      assert.equal((await me(srv, a)).statusCode, 401);
      assert.equal((await me(srv, b)).statusCode, 401);

      const wrongUser = await signIn(srv, 'nobody');
      assert.equal(wrongUser.statusCode, 401);
      assert.equal(wrongUser.json().message, (await signIn(srv, 'carol', 'not the password')).json().message);
    } finally {
      await srv.close();
    }
  });

  it('asks enrolled users for a TOTP code, and confines admins without one when the operator requires it', async () => {
    const srv = await startTestServer({ env: { PORTCULLIS_REQUIRE_ADMIN_TOTP: 'true' } });
    try {
      await createUser(srv.store.db, { username: 'root2', role: 'admin', password: PASSWORD });
      const first = await signIn(srv, 'root2');
      assert.equal(first.statusCode, 200);
      assert.equal(first.json().totp_enrolment_required, true);
      const jar = jarOf(first);
      const users = await srv.app.inject({
        method: 'GET',
        url: '/api/users',
        headers: { cookie: jar.cookie },
      });
      assert.equal(users.statusCode, 403);
      assert.equal(users.json().code, 'totp_enrolment_required');

      const write = { cookie: jar.cookie, 'x-csrf-token': jar.csrf };
      const enrol = await srv.app.inject({ method: 'POST', url: '/api/me/totp', headers: write });
      assert.equal(enrol.statusCode, 200);
      const { secret, otpauth_url } = enrol.json() as { secret: string; otpauth_url: string };
      assert.match(otpauth_url, /^otpauth:\/\/totp\//);
      const epoch = Math.floor(srv.ctx.now().getTime() / 1000);
      const bad = await srv.app.inject({
        method: 'POST',
        url: '/api/me/totp/confirm',
        headers: write,
        payload: { code: '000000' === (await generate({ secret, epoch })) ? '111111' : '000000' },
      });
      assert.equal(bad.statusCode, 400);
      const ok = await srv.app.inject({
        method: 'POST',
        url: '/api/me/totp/confirm',
        headers: write,
        payload: { code: await generate({ secret, epoch }) },
      });
      assert.equal(ok.statusCode, 200);
      // The seed is stored sealed, never as the text an authenticator app is given.
      const stored = await srv.store.db
        .selectFrom('users')
        .select(['id', 'totp_secret'])
        .where('username', '=', 'root2')
        .executeTakeFirstOrThrow();
      assert.match(stored.totp_secret!, /^v1\./);
      assert.ok(!stored.totp_secret!.includes(secret));
      assert.equal(openTotpSecret(secretKeyFor(srv.ctx.config), stored.id, stored.totp_secret!), secret);
      assert.throws(() => openTotpSecret(secretKeyFor(srv.ctx.config), stored.id + 1, stored.totp_secret!));
      assert.equal(
        (await srv.app.inject({ method: 'GET', url: '/api/users', headers: { cookie: jar.cookie } }))
          .statusCode,
        200,
      );

      const noCode = await signIn(srv, 'root2');
      assert.equal(noCode.statusCode, 401);
      assert.equal(noCode.json().code, 'totp_required');
      const withCode = await signIn(srv, 'root2', PASSWORD, {
        totp: await generate({ secret, epoch: Math.floor(srv.ctx.now().getTime() / 1000) }),
      });
      assert.equal(withCode.statusCode, 200);
      assert.equal(withCode.json().totp_enrolment_required, false);
    } finally {
      await srv.close();
    }
  });

  it('seals TOTP seeds that an older version stored in plaintext, and they still sign in', async () => {
    const srv = await startTestServer();
    try {
      const u = await createUser(srv.store.db, { username: 'dave', role: 'analyst', password: PASSWORD });
      const seed = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'; // RFC 6238's test seed "12345678901234567890", base32
      await srv.store.db
        .updateTable('users')
        .set({ totp_secret: seed, totp_enabled: true })
        .where('id', '=', u.id)
        .execute();
      assert.equal(await sealPlaintextTotpSecrets(srv.store.db, secretKeyFor(srv.ctx.config)), 1);
      assert.equal(await sealPlaintextTotpSecrets(srv.store.db, secretKeyFor(srv.ctx.config)), 0);
      const row = await srv.store.db
        .selectFrom('users')
        .select('totp_secret')
        .where('id', '=', u.id)
        .executeTakeFirstOrThrow();
      assert.match(row.totp_secret!, /^v1\./);
      assert.ok(!row.totp_secret!.includes(seed));
      const epoch = Math.floor(srv.ctx.now().getTime() / 1000);
      const res = await signIn(srv, 'dave', PASSWORD, { totp: await generate({ secret: seed, epoch }) });
      assert.equal(res.statusCode, 200);
    } finally {
      await srv.close();
    }
  });

  it('throttles logins per client address', async () => {
    const srv = await startTestServer({ env: { PORTCULLIS_LOGIN_RATE_LIMIT: '3' } });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await signIn(srv, 'nobody')).statusCode);
      assert.deepEqual(codes, [401, 401, 401, 429, 429]);
      const audit = await listAudit(srv.store.db, { _filter_action: '"login.throttled"', page_size: '0' });
      assert.equal(audit.count, 1);
    } finally {
      await srv.close();
    }
  });

  it('sends the security headers', async () => {
    const srv = await startTestServer();
    try {
      const res = await srv.app.inject({ method: 'GET', url: '/health' });
      assert.match(String(res.headers['strict-transport-security']), /max-age=31536000; includeSubDomains/);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['x-frame-options'], 'DENY');
      assert.match(
        String(res.headers['content-security-policy']),
        /default-src 'self'.*frame-ancestors 'none'/,
      );
      assert.equal(res.headers['referrer-policy'], 'no-referrer');
    } finally {
      await srv.close();
    }
  });
});
