import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, sql, type MigrationProvider } from 'kysely';
import pg from 'pg';
import type { Logger } from '../logging/index.ts';
import { AppError } from '../util/errors.ts';
import { MIGRATIONS } from './migrations/index.ts';
import type { Database } from './schema.ts';

export type StoreKind = 'embedded' | 'postgres';

/** An open database with its migrations applied. */
export interface Store {
  readonly db: Kysely<Database>;
  readonly kind: StoreKind;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** Directory for the embedded database (`<dataDir>/pgdata`); ignored when `databaseUrl` is set. */
  dataDir?: string;
  /** `postgres://…` for an external PostgreSQL; `memory://` for a throw-away embedded one. */
  databaseUrl?: string | undefined;
  logger?: Logger;
  /** Connection pool size for PostgreSQL. */
  poolSize?: number;
}

// int8 (count(*), bigserial ids) as numbers on both stores: PGlite already does, node-postgres
// gives strings. Ids stay far below 2^53.
const INT8_OID = 20;
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

// PGlite keeps PostgreSQL's shared buffers inside its WebAssembly heap, all of it resident: initdb's
// 128 MB default made the embedded store alone cost about 350 MB. 16 MB holds a baseline of hundreds
// of thousands of services' hot pages; the rest is read through the operating system's page cache.
const EMBEDDED_START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

/**
 * The embedded store shares the process with everything else, so the process's resident memory is the
 * sum of both. Two V8 settings, made before PGlite's WebAssembly is compiled:
 * - V8 otherwise lets its old generation grow to several times the live data between full
 *   collections; with big imports producing short-lived garbage at a high rate, that alone cost
 *   150-250 MB of resident memory. Growing by at most 30% keeps the heap near its live size; full
 *   collections of a small live heap take a few milliseconds.
 * - PGlite's WebAssembly runs on V8's baseline compiler only: optimising its hot functions again
 *   cost about 60 MB of resident memory (compiler memory and a second copy of the code) for about
 *   15% less CPU time in the database. Imports are bound by parsing, not by the database, except
 *   for tens of thousands of new services at a time.
 */
function tuneProcessForEmbeddedStore(): void {
  v8.setFlagsFromString('--heap-growing-percent=30');
  v8.setFlagsFromString('--liftoff-only');
}

/** Opens the configured store and brings its schema up to date. */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  if (opts.databaseUrl && opts.databaseUrl !== 'memory://') return openPostgres(opts.databaseUrl, opts);
  tuneProcessForEmbeddedStore();
  const { PGliteDialect } = await import('./pglite-dialect.ts');
  let pglite: PGlite;
  if (opts.databaseUrl === 'memory://') pglite = await PGlite.create({ startParams: EMBEDDED_START_PARAMS });
  else {
    if (!opts.dataDir) throw new AppError('bug', 'openStore needs a dataDir', { kind: 'bug' });
    const dir = join(opts.dataDir, 'pgdata');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      if (!existsSync(join(dir, 'PG_VERSION'))) await initEmbedded(dir);
      pglite = await PGlite.create(dir, { startParams: EMBEDDED_START_PARAMS });
    } catch (e) {
      throw new AppError(
        'store_open_failed',
        `cannot open the embedded database in ${dir}: ${(e as Error).message}`,
        { kind: 'operational', cause: e },
      );
    }
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  await migrate(db, opts.logger);
  return {
    db,
    kind: 'embedded',
    async close() {
      await db.destroy();
      await pglite.close();
    },
  };
}

/** Runs initdb for a new embedded database in a short-lived child process (see pglite-initdb.mjs). */
async function initEmbedded(dir: string): Promise<void> {
  const script = fileURLToPath(new URL('./pglite-initdb.mjs', import.meta.url));
  try {
    await promisify(execFile)(process.execPath, [script, dir], { timeout: 120_000 });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`initdb failed: ${err.stderr?.trim() || err.message}`, { cause: e });
  }
}

async function openPostgres(url: string, opts: OpenStoreOptions): Promise<Store> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: 10_000,
    types: pgTypes,
  });
  // An idle client's error (server restart) must not crash the process; the pool replaces it.
  pool.on('error', (e) => opts.logger?.warn({ err: e }, 'PostgreSQL connection lost'));
  try {
    const c = await pool.connect();
    c.release();
  } catch (e) {
    await pool.end().catch(() => {});
    throw new AppError(
      'store_unreachable',
      `PORTCULLIS_DATABASE_URL: cannot connect to PostgreSQL at ${redactUrl(url)}: ${(e as Error).message}`,
      { kind: 'operational', cause: e },
    );
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const { rows } = await sql<{ v: number }>`select current_setting('server_version_num')::int as v`.execute(
    db,
  );
  if ((rows[0]?.v ?? 0) < 150000) {
    await db.destroy();
    throw new AppError('store_version', 'PORTCULLIS_DATABASE_URL: PostgreSQL 15 or later is required', {
      kind: 'operational',
    });
  }
  await migrate(db, opts.logger);
  return { db, kind: 'postgres', close: () => db.destroy() };
}

async function migrate(db: Kysely<Database>, logger?: Logger): Promise<void> {
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  for (const r of results ?? []) {
    if (r.status === 'Success') logger?.info({ migration: r.migrationName }, 'applied migration');
    else if (r.status === 'Error') logger?.error({ migration: r.migrationName }, 'migration failed');
  }
  if (error) {
    throw new AppError('migration_failed', `database migration failed: ${(error as Error).message}`, {
      kind: 'operational',
      cause: error,
    });
  }
}

/** A database URL with its password hidden, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
