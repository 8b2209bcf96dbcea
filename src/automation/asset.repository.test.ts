import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BUILTIN_APPS } from '../apps/index.ts';
import { testStores } from '../testing/stores.ts';
import { AppRegistry } from './app.registry.ts';
import {
  assetConfiguration,
  createAsset,
  getAssetRow,
  toAssetView,
  updateAsset,
} from './asset.repository.ts';
import { decryptSecret, encryptSecret, loadSecretKey } from '../util/secret-box.ts';

describe('asset secrets', () => {
  it('round-trips any text and refuses another key or another field', () => {
    const key = loadSecretKey('/nonexistent', 'ab'.repeat(32));
    const other = loadSecretKey('/nonexistent', 'cd'.repeat(32));
    fc.assert(
      fc.property(fc.string(), (s) => {
        const sealed = encryptSecret(key, s, 'asset:a:password');
        assert.equal(decryptSecret(key, sealed, 'asset:a:password'), s);
        assert.throws(() => decryptSecret(other, sealed, 'asset:a:password'), /cannot be decrypted/);
        assert.throws(() => decryptSecret(key, sealed, 'asset:b:password'), /cannot be decrypted/);
      }),
      { numRuns: 50 },
    );
  });

  it('generates the key file once, mode 0600', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-key-'));
    try {
      const k1 = loadSecretKey(dir);
      assert.equal(statSync(join(dir, 'secret.key')).mode & 0o777, 0o600);
      assert.deepEqual(loadSecretKey(dir), k1);
      assert.equal(readFileSync(join(dir, 'secret.key'), 'utf8').trim(), k1.toString('hex'));
      assert.throws(
        () => loadSecretKey(dir, 'short'),
        /PORTCULLIS_SECRET_KEY: the secret key must be 32 bytes/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

for (const [name, makeStore] of testStores()) {
  describe(`assets on ${name}`, () => {
    it('stores secrets encrypted, shows them only as set/unset, and decrypts them for the app', async () => {
      const store = await makeStore();
      try {
        const apps = new AppRegistry();
        for (const a of BUILTIN_APPS) apps.register(a);
        const key = loadSecretKey('/nonexistent', 'ef'.repeat(32));
        const id = await createAsset(store.db, apps, key, {
          name: 'mail',
          product_vendor: 'Generic',
          product_name: 'SMTP',
          configuration: {
            server: '127.0.0.1',
            port: 2525,
            sender: 'pc@example.test',
            password: 'hunter2-very-secret',
          },
        });
        const row = await getAssetRow(store.db, id);
        assert.ok(!JSON.stringify(row).includes('hunter2'), 'the plaintext is not in the row');
        const view = toAssetView(row, apps);
        assert.deepEqual(view.secret_configuration, { password: 'set' });
        assert.ok(!JSON.stringify(view).includes('hunter2'));
        const cfg = assetConfiguration(row, apps.get(row.app_id)!.manifest, key);
        assert.equal(cfg.password, 'hunter2-very-secret');
        assert.equal(cfg.security, 'starttls', 'manifest defaults are filled in');
        await updateAsset(store.db, apps, key, id, { configuration: { port: 2526 } });
        assert.equal(
          assetConfiguration(await getAssetRow(store.db, id), apps.get(row.app_id)!.manifest, key).password,
          'hunter2-very-secret',
        );
        await updateAsset(store.db, apps, key, id, { configuration: { password: null } });
        assert.deepEqual(toAssetView(await getAssetRow(store.db, id), apps).secret_configuration, {
          password: 'unset',
        });
        await assert.rejects(
          createAsset(store.db, apps, key, { name: 'x', app: 'SMTP', configuration: { sender: 'a@b' } }),
          /\/configuration\/server: required/,
        );
        await assert.rejects(
          createAsset(store.db, apps, key, {
            name: 'y',
            app: 'SMTP',
            configuration: { server: 'h', sender: 'a', port: '25' },
          }),
          /\/configuration\/port: must be a number/,
        );
        await assert.rejects(
          createAsset(store.db, apps, key, {
            name: 'z',
            app: 'SMTP',
            configuration: { server: 'h', sender: 'a', nope: 1 },
          }),
          /\/configuration\/nope: unknown setting/,
        );
        await assert.rejects(
          createAsset(store.db, apps, key, {
            name: 'mail',
            app: 'SMTP',
            configuration: { server: 'h', sender: 'a' },
          }),
          /already exists/,
        );
      } finally {
        await store.close();
      }
    });
  });
}
