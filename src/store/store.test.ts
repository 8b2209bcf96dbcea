import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createToken, findPrincipalByToken, listTokens, revokeToken } from '../identity/index.ts';
import { testStores } from '../testing/stores.ts';
import { lockDataDir } from './lock.ts';
import { openStore } from './store.ts';

for (const [name, makeStore] of testStores()) {
  describe(`store on ${name}`, () => {
    it('applies the migrations and reports its kind', async () => {
      const store = await makeStore();
      try {
        assert.equal(store.kind, name.startsWith('embedded') ? 'embedded' : 'postgres');
        const n = await store.db
          .selectFrom('users')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        assert.equal(n.n, 0);
      } finally {
        await store.close();
      }
    });

    it('issues, finds, lists and revokes tokens; a revoked or expired token finds nobody', async () => {
      const store = await makeStore();
      try {
        const u = await store.db
          .insertInto('users')
          .values({ username: 'ana', role: 'analyst', password_hash: null })
          .returning('id')
          .executeTakeFirstOrThrow();
        const t = await createToken(store.db, { userId: u.id, name: 'ci', kind: 'api' });
        const p = await findPrincipalByToken(store.db, t.token);
        assert.deepEqual(p, {
          userId: u.id,
          username: 'ana',
          role: 'analyst',
          tokenId: t.id,
          tokenKind: 'api',
        });
        const listed = await listTokens(store.db);
        assert.equal(listed.length, 1);
        assert.ok(!JSON.stringify(listed).includes(t.token), 'a listing shows the token');
        assert.equal(await revokeToken(store.db, t.id), true);
        assert.equal(await findPrincipalByToken(store.db, t.token), null);
        assert.equal(await revokeToken(store.db, 999999), false);
        const old = await createToken(store.db, {
          userId: u.id,
          name: 'old',
          kind: 'api',
          expiresAt: new Date(Date.now() - 1000),
        });
        assert.equal(await findPrincipalByToken(store.db, old.token), null);
      } finally {
        await store.close();
      }
    });

    it('runs concurrent transactions without mixing them up', async () => {
      const store = await makeStore();
      try {
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.db
              .transaction()
              .execute(async (tx) => {
                await tx
                  .insertInto('settings')
                  .values({ key: `k${i}`, value: JSON.stringify(i) })
                  .execute();
                if (i % 3 === 0) throw new Error('roll back');
              })
              .catch(() => undefined),
          ),
        );
        const rows = await store.db.selectFrom('settings').select('key').execute();
        assert.equal(rows.length, 20 - 7);
        assert.ok(rows.every((r) => Number(r.key.slice(1)) % 3 !== 0));
      } finally {
        await store.close();
      }
    });
  });
}

describe('embedded store durability', () => {
  it('keeps every acknowledged write when the writing process is killed with SIGKILL', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pc-durable-'));
    try {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', new URL('../testing/durable-writer.ts', import.meta.url).pathname, dataDir],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let acked = -1;
      let buf = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split('\n');
          buf = lines.pop() ?? '';
          for (const l of lines) {
            const m = /^ack (\d+)$/.exec(l);
            if (m) acked = Number(m[1]);
          }
          // Kill in the middle of the write stream, with more writes in flight.
          if (acked >= 300 && child.exitCode === null) {
            child.kill('SIGKILL');
            resolve();
          }
        });
        child.once('exit', (code, sig) =>
          sig === 'SIGKILL' ? resolve() : reject(new Error(`writer exited with ${code}`)),
        );
      });
      await new Promise((r) =>
        child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r),
      );
      assert.ok(acked >= 300);
      const store = await openStore({ dataDir });
      try {
        const rows = await store.db
          .selectFrom('settings')
          .select('key')
          .where('key', 'like', 'durable-%')
          .execute();
        const have = new Set(rows.map((r) => r.key));
        for (let i = 0; i <= acked; i++)
          assert.ok(have.has(`durable-${i}`), `acknowledged write ${i} was lost`);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('data dir lock', () => {
  it('refuses a second holder while the first lives, and takes over a dead one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-lock-'));
    try {
      const a = lockDataDir(dir);
      a.release();
      // Another live process holds it: our parent's pid stands in for a running server.
      writeFileSync(join(dir, 'portcullis.pid'), `${process.ppid}\n`);
      assert.throws(() => lockDataDir(dir), /in use by another Portcullis process/);
      writeFileSync(join(dir, 'portcullis.pid'), '999999999\n');
      const b = lockDataDir(dir);
      b.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
