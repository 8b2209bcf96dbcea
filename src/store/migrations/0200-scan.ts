import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('scan_scopes')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('cidr', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('allow', 'exclude')`))
    .addColumn('note', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('scan_scopes_cidr_kind_uniq', ['cidr', 'kind'])
    .execute();
  await db.schema
    .createTable('scan_schedules')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('cron', 'text', (c) => c.notNull())
    .addColumn('targets', 'jsonb', (c) => c.notNull())
    .addColumn('ports', 'text', (c) => c.notNull())
    .addColumn('options', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_run_at', 'timestamptz')
    .addColumn('last_run_id', 'bigint')
    .execute();
  await db.schema
    .createTable('scan_runs')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('targets', 'jsonb', (c) => c.notNull())
    .addColumn('ports', 'text', (c) => c.notNull())
    .addColumn('options', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('schedule_id', 'bigint', (c) => c.references('scan_schedules.id').onDelete('set null'))
    .addColumn('requested_by', 'text')
    .addColumn('hosts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('total', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('done', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('open_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('closed_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('filtered_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('baseline', 'jsonb')
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('scan_runs_started_idx').on('scan_runs').column('started_at').execute();
  await db.schema
    .createTable('scan_results')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('run_id', 'bigint', (c) => c.notNull().references('scan_runs.id').onDelete('cascade'))
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('hostname', 'text')
    .addColumn('protocol', 'text', (c) => c.notNull().defaultTo('tcp'))
    .addColumn('port', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('rtt_ms', 'real')
    .addColumn('banner', 'text')
    .execute();
  await db.schema
    .createIndex('scan_results_run_idx')
    .on('scan_results')
    .columns(['run_id', 'state'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('scan_results').execute();
  await db.schema.dropTable('scan_runs').execute();
  await db.schema.dropTable('scan_schedules').execute();
  await db.schema.dropTable('scan_scopes').execute();
}
