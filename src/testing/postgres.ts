import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian puts the PostgreSQL 15 server binaries (`apt-get install postgresql-15`). */
export const PG_BIN = process.env.PORTCULLIS_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** A PostgreSQL cluster started by a test in a temporary directory. */
export interface TestCluster {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** A fresh database in this cluster; returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

const asRoot = process.getuid?.() === 0;

function run(cmd: string, args: string[]): void {
  const full = asRoot
    ? (['runuser', ['-u', 'postgres', '--', cmd, ...args]] as const)
    : ([cmd, args] as const);
  const r = spawnSync(full[0], [...full[1]], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout || r.error?.message}`);
}

/**
 * initdb into a temporary directory and start a postgres on a free loopback port. As root it runs as
 * the `postgres` user (PostgreSQL refuses root). Fails loudly when the binaries are missing: the suite
 * must not silently skip the PostgreSQL half.
 */
export async function startPostgres(): Promise<TestCluster> {
  if (!existsSync(join(PG_BIN, 'initdb')))
    throw new Error(`PostgreSQL 15 binaries not found in ${PG_BIN}: apt-get install -y postgresql-15`);
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-pg-'));
  if (asRoot) {
    const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(dir, Number(pw.stdout.trim()), Number(gid.stdout.trim()));
  }
  const data = join(dir, 'data');
  run(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const args = [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
  ];
  const full = asRoot
    ? (['runuser', ['-u', 'postgres', '--', join(PG_BIN, 'postgres'), ...args]] as const)
    : ([join(PG_BIN, 'postgres'), args] as const);
  const proc = spawn(full[0], [...full[1]], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const pg = (await import('pg')).default;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const c = new pg.Client({ connectionString: url });
    try {
      await c.connect();
      await c.end();
      break;
    } catch {
      await c.end().catch(() => {});
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`postgres did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  let stopped = false;
  return {
    url,
    port,
    dir,
    async createDatabase(name: string) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`create database "${name.replace(/"/g, '')}"`);
      await c.end();
      return `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(name)}`;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
