import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getVault, hasVault, putVault, vaultPath, type VaultContext } from './vault.store.ts';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function tempCtx(maxBytes = 1 << 20): VaultContext & { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-vault-'));
  return { dir, config: { dataDir: dir, vaultMaxBytes: maxBytes } };
}

/** Every file under the vault (but tmp/), as [name, bytes]. */
function storedFiles(root: string): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        if (!(d === root && name === 'tmp')) walk(p);
      } else out.push([name, readFileSync(p)]);
    }
  };
  walk(root);
  return out;
}

describe('vault store', () => {
  it('stores bytes under their sha256 once, reads them back, refuses what is too large', async () => {
    const ctx = tempCtx(64);
    try {
      const a = await putVault(ctx, 'hello vault');
      assert.deepEqual(a, { sha256: sha('hello vault'), size: 11 });
      assert.equal(
        vaultPath(ctx, a.sha256),
        join(ctx.dir, 'vault', a.sha256.slice(0, 2), a.sha256.slice(2, 4), a.sha256),
      );
      assert.deepEqual(await putVault(ctx, Buffer.from('hello vault')), a);
      assert.equal((await getVault(ctx, a.sha256)).toString(), 'hello vault');
      assert.equal(await hasVault(ctx, a.sha256), true);
      assert.equal(await hasVault(ctx, sha('other')), false);
      await assert.rejects(getVault(ctx, sha('other')), /not found/);
      await assert.rejects(
        putVault(ctx, Buffer.alloc(65)),
        (e: Error & { status?: number }) => e.status === 413,
      );
      assert.throws(() => vaultPath(ctx, '../../etc/passwd'), /not a sha256/);
      assert.equal(storedFiles(join(ctx.dir, 'vault')).length, 1);
      assert.deepEqual(readdirSync(join(ctx.dir, 'vault', 'tmp')), []);
    } finally {
      rmSync(ctx.dir, { recursive: true, force: true });
    }
  });

  it('keeps every acknowledged file and never shows a partial one when the writer is killed -9', async () => {
    const ctx = tempCtx(1 << 22);
    const store = fileURLToPath(new URL('./vault.store.ts', import.meta.url));
    // The writer stores files of pseudo-random sizes (derived from i, so the test can rebuild them)
    // and prints "ack <i> <sha>" after each put returns; it is killed mid-stream.
    const script = `
      const { putVault } = await import(${JSON.stringify(store)});
      const { createHash } = await import('node:crypto');
      const ctx = { config: { dataDir: ${JSON.stringify(ctx.dir)}, vaultMaxBytes: ${1 << 22} } };
      for (let i = 0; ; i++) {
        const seed = createHash('sha256').update(String(i)).digest();
        const data = Buffer.alloc(1 + (seed.readUInt32BE(0) % 300000), seed);
        const r = await putVault(ctx, data);
        process.stdout.write('ack ' + i + ' ' + r.sha256 + '\\n');
      }`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acked: Array<[number, string]> = [];
    try {
      const lines = createInterface({ input: child.stdout });
      for await (const line of lines) {
        const [, i, h] = line.split(' ');
        acked.push([Number(i), h!]);
        if (acked.length === 25) {
          child.kill('SIGKILL');
          break;
        }
      }
      await new Promise((r) =>
        child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r),
      );
      assert.equal(acked.length, 25, 'the writer acknowledged 25 files before it was killed');
      for (const [i, h] of acked) {
        const seed = createHash('sha256').update(String(i)).digest();
        const data = Buffer.alloc(1 + (seed.readUInt32BE(0) % 300000), seed);
        assert.equal(h, sha(data));
        assert.deepEqual(await getVault(ctx, h), data, `acknowledged file ${i} is whole`);
      }
      for (const [name, bytes] of storedFiles(join(ctx.dir, 'vault')))
        assert.equal(sha(bytes), name, 'no partial file under a vault id');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(ctx.dir, { recursive: true, force: true });
    }
  });
});
