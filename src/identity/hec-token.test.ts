import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testStores } from '../testing/stores.ts';
import { authenticateHecToken } from './hec-token.ts';
import { createToken, revokeToken } from './token.repository.ts';
import { createUser } from './user.repository.ts';

for (const [name, makeStore] of testStores()) {
  describe(`HEC token authentication on ${name}`, () => {
    it('accepts HEC tokens and admin/automation API tokens; refuses others, revoked and expired ones', async () => {
      const store = await makeStore();
      try {
        const db = store.db;
        const ids: Record<string, number> = {};
        for (const role of ['admin', 'analyst', 'observer', 'automation'] as const)
          ids[role] = (await createUser(db, { username: `u-${role}`, role })).id;
        const tok = async (role: string, kind: 'api' | 'hec', expiresAt: Date | null = null) =>
          createToken(db, { userId: ids[role]!, name: `${role} ${kind}`, kind, expiresAt });

        assert.equal(
          (await authenticateHecToken(db, (await tok('observer', 'hec')).token))?.username,
          'u-observer',
        );
        assert.equal((await authenticateHecToken(db, (await tok('admin', 'api')).token))?.role, 'admin');
        assert.equal(
          (await authenticateHecToken(db, (await tok('automation', 'api')).token))?.role,
          'automation',
        );
        assert.equal(await authenticateHecToken(db, (await tok('analyst', 'api')).token), null);
        assert.equal(await authenticateHecToken(db, (await tok('observer', 'api')).token), null);
        assert.equal(await authenticateHecToken(db, 'pch_not-a-token'), null);
        assert.equal(await authenticateHecToken(db, ''), null);

        const revoked = await tok('automation', 'hec');
        assert.ok(await revokeToken(db, revoked.id));
        assert.equal(await authenticateHecToken(db, revoked.token), null);
        const expiring = await tok('automation', 'hec', new Date('2030-01-01T00:00:00Z'));
        assert.ok(await authenticateHecToken(db, expiring.token, new Date('2029-12-31T23:59:59Z')));
        assert.equal(await authenticateHecToken(db, expiring.token, new Date('2030-01-01T00:00:00Z')), null);
      } finally {
        await store.close();
      }
    });
  });
}
