import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listAudit } from '../audit/index.ts';
import { loadConfig } from '../config/index.ts';
import { testStores } from '../testing/stores.ts';
import { auditConfigChanges } from './config-audit.ts';

for (const [name, makeStore] of testStores()) {
  describe(`configuration audit on ${name}`, () => {
    it('records the first configuration, then each changed setting, never a secret value', async () => {
      const store = await makeStore();
      try {
        const key = 'ab'.repeat(32);
        const base = { PORTCULLIS_DATA_DIR: '/tmp/x', PORTCULLIS_SECRET_KEY: key };
        assert.deepEqual(await auditConfigChanges(store.db, loadConfig(base)), []);
        assert.deepEqual(await auditConfigChanges(store.db, loadConfig(base)), []);
        const rotated = 'cd'.repeat(32);
        const changed = await auditConfigChanges(
          store.db,
          loadConfig({ ...base, PORTCULLIS_SECRET_KEY: rotated, PORTCULLIS_LOGIN_LOCKOUT_THRESHOLD: '5' }),
        );
        assert.deepEqual(changed.sort(), ['loginLockoutThreshold', 'secretKey']);
        const log = await listAudit(store.db, { _filter_object_type: '"config"', page_size: '0' });
        assert.deepEqual(
          log.data.map((e) => e.action),
          ['config.initial', 'config.change'],
        );
        const change = log.data[1]!.details.changes as Array<{ setting: string; old: unknown; new: unknown }>;
        assert.deepEqual(
          change.find((c) => c.setting === 'loginLockoutThreshold'),
          { setting: 'loginLockoutThreshold', old: 20, new: 5 },
        );
        const text = JSON.stringify(log.data);
        assert.ok(!text.includes(key) && !text.includes(rotated), 'a secret key appears in the audit log');
      } finally {
        await store.close();
      }
    });
  });
}
