import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestServer } from './test-server.ts';

describe('logs', () => {
  it('never contain a token, password, session id, TOTP or asset secret, whatever the session does with them', async () => {
    const lines: string[] = [];
    const srv = await startTestServer({ logTo: { write: (s: string) => void lines.push(s) } });
    const secrets: string[] = [];
    const admin = { 'ph-auth-token': srv.tokens.admin };
    secrets.push(...Object.values(srv.tokens));
    try {
      const inject = srv.app.inject.bind(srv.app);
      const pw1 = 'first-Password-of-dave-7f3a';
      const pw2 = 'second-Password-of-dave-91c2';
      secrets.push(pw1, pw2);
      assert.equal(
        (
          await inject({
            method: 'POST',
            url: '/api/users',
            headers: admin,
            payload: { username: 'dave', role: 'analyst', password: pw1 },
          })
        ).statusCode,
        201,
      );
      // A password that breaks the policy is refused without echoing it.
      const weak = 'short-pw-x';
      secrets.push(weak);
      const refused = await inject({
        method: 'PUT',
        url: '/api/users/dave/password',
        headers: admin,
        payload: { password: weak },
      });
      assert.equal(refused.statusCode, 400);
      assert.ok(!refused.body.includes(weak));

      const login = await inject({
        method: 'POST',
        url: '/api/login',
        payload: { username: 'dave', password: pw1 },
      });
      assert.equal(login.statusCode, 200);
      const session = login.cookies.find((c) => c.name === '__Host-portcullis_session')!.value;
      const csrf = (login.json() as { csrf_token: string }).csrf_token;
      secrets.push(session, csrf);
      const cookie = login.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
      assert.equal(
        (
          await inject({
            method: 'POST',
            url: '/api/login',
            payload: { username: 'dave', password: 'wrong-' + pw1 },
          })
        ).statusCode,
        401,
      );
      secrets.push('wrong-' + pw1);

      const totp = await inject({
        method: 'POST',
        url: '/api/me/totp',
        headers: { cookie, 'x-csrf-token': csrf },
      });
      secrets.push((totp.json() as { secret: string }).secret);

      const created: Array<{ id: number; token: string }> = [];
      for (const payload of [
        { name: 'dave script', user: 'dave' },
        { name: 'dave hec', user: 'dave', kind: 'hec' },
        { name: 'own', expires_in: '1d' },
      ]) {
        const res = await inject({ method: 'POST', url: '/api/tokens', headers: admin, payload });
        assert.equal(res.statusCode, 201);
        created.push(res.json() as { id: number; token: string });
      }
      secrets.push(...created.map((c) => c.token));
      const [api, hec] = created as [{ id: number; token: string }, { id: number; token: string }];
      assert.equal(
        (await inject({ method: 'GET', url: '/api/me', headers: { 'ph-auth-token': api.token } })).statusCode,
        200,
      );
      assert.equal(
        (await inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${api.token}` } }))
          .statusCode,
        200,
      );
      const basic = Buffer.from(`dave:${api.token}`).toString('base64');
      secrets.push(basic);
      assert.equal(
        (await inject({ method: 'GET', url: '/rest/ph_user', headers: { authorization: `Basic ${basic}` } }))
          .statusCode,
        200,
      );
      assert.equal(
        (await inject({ method: 'GET', url: '/api/me', headers: { 'ph-auth-token': hec.token } })).statusCode,
        401,
      );
      const typo = `${api.token.slice(0, -1)}x`;
      secrets.push(typo);
      assert.equal(
        (await inject({ method: 'GET', url: '/api/me', headers: { 'ph-auth-token': typo } })).statusCode,
        401,
      );
      const listing = await inject({ method: 'GET', url: '/api/tokens', headers: admin });
      for (const c of created) assert.ok(!listing.body.includes(c.token), 'the token listing shows a secret');

      const pwChange = await inject({
        method: 'POST',
        url: '/api/me/password',
        headers: { cookie, 'x-csrf-token': csrf },
        payload: { current_password: pw1, new_password: pw2 },
      });
      assert.equal(pwChange.statusCode, 200);
      for (const c of created)
        assert.equal(
          (await inject({ method: 'DELETE', url: `/api/tokens/${c.id}`, headers: admin })).statusCode,
          200,
        );
      assert.equal(
        (await inject({ method: 'GET', url: '/api/me', headers: { 'ph-auth-token': api.token } })).statusCode,
        401,
      );
      // Asset secrets: set, rotated, read back (as `set`), deleted; the audit log names the field only.
      const assetSecret = 'asset-Secret-Value-42a9c';
      const rotatedSecret = 'asset-Secret-Rotated-77b1d';
      secrets.push(assetSecret, rotatedSecret);
      const asset = await inject({
        method: 'POST',
        url: '/rest/asset',
        headers: admin,
        payload: {
          name: 'web-api',
          app: 'HTTP',
          configuration: {
            allowed_destinations: '198.18.0.0/15',
            base_url: 'https://198.18.0.9',
            auth_token: assetSecret,
          },
        },
      });
      assert.equal(asset.statusCode, 200, asset.body);
      const assetId = (asset.json() as { id: number }).id;
      const rotate = await inject({
        method: 'POST',
        url: `/rest/asset/${assetId}`,
        headers: admin,
        payload: { configuration: { auth_token: rotatedSecret } },
      });
      assert.equal(rotate.statusCode, 200, rotate.body);
      const shown = await inject({ method: 'GET', url: `/rest/asset/${assetId}`, headers: admin });
      assert.ok(
        !shown.body.includes(rotatedSecret) && !shown.body.includes(assetSecret),
        'an asset secret is shown',
      );
      assert.equal(
        (await inject({ method: 'DELETE', url: `/rest/asset/${assetId}`, headers: admin })).statusCode,
        200,
      );
      const assetAudit = await inject({
        method: 'GET',
        url: '/rest/audit?_filter_object_type="asset"&page_size=0',
        headers: admin,
      });
      const entries = (
        assetAudit.json() as {
          data: Array<{ action: string; actor: string; details: { configuration_fields?: string[] } }>;
        }
      ).data;
      assert.deepEqual(
        entries.map((e) => e.action),
        ['asset.create', 'asset.update', 'asset.delete'],
      );
      assert.deepEqual(entries[1]!.details.configuration_fields, ['auth_token']);
      assert.deepEqual(entries[0]!.details.configuration_fields, [
        'allowed_destinations',
        'base_url',
        'auth_token',
      ]);
      assert.equal(entries[1]!.actor, 'admin-user');

      const audit = await inject({ method: 'GET', url: '/rest/audit?page_size=0', headers: admin });
      if (audit.statusCode === 200)
        for (const s of secrets) assert.ok(!audit.body.includes(s), 'the audit log holds a secret');
    } finally {
      await srv.close();
    }
    const all = lines.join('');
    assert.ok(lines.length > 20, `expected request logs, got ${lines.length} lines`);
    assert.ok(all.includes('/api/tokens'), 'request logs are captured');
    for (const s of secrets) assert.ok(!all.includes(s), `a secret (${s.slice(0, 4)}…) appears in the logs`);
  });
});
