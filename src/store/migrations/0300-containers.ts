import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('containers')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull().defaultTo('events'))
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('severity', 'text', (c) => c.notNull().defaultTo('medium'))
    .addColumn('sensitivity', 'text', (c) => c.notNull().defaultTo('amber'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('new'))
    .addColumn('container_type', 'text', (c) => c.notNull().defaultTo('default'))
    .addColumn('source_data_identifier', 'text', (c) => c.unique())
    .addColumn('owner_id', 'bigint')
    .addColumn('tags', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('custom_fields', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('data', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('start_time', 'timestamptz')
    .addColumn('end_time', 'timestamptz')
    .addColumn('due_time', 'timestamptz')
    .addColumn('close_time', 'timestamptz')
    .addColumn('create_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('update_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('containers_label_idx').on('containers').column('label').execute();
  await db.schema.createIndex('containers_status_idx').on('containers').column('status').execute();
  await db.schema
    .createTable('artifacts')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('container_id', 'bigint', (c) => c.notNull().references('containers.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('label', 'text', (c) => c.notNull().defaultTo('event'))
    .addColumn('type', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('severity', 'text', (c) => c.notNull().defaultTo('medium'))
    .addColumn('source_data_identifier', 'text')
    .addColumn('cef', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('cef_types', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('data', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('tags', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('start_time', 'timestamptz')
    .addColumn('end_time', 'timestamptz')
    .addColumn('create_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('update_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('artifacts_container_idx').on('artifacts').column('container_id').execute();
  await db.schema
    .createIndex('artifacts_sdi_uniq')
    .on('artifacts')
    .columns(['container_id', 'source_data_identifier'])
    .unique()
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('artifacts').execute();
  await db.schema.dropTable('containers').execute();
}
