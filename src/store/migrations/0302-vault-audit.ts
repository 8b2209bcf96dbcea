import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('vault_files')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('vault_id', 'text', (c) => c.notNull())
    .addColumn('container_id', 'bigint', (c) => c.references('containers.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('metadata', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_by', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('create_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('vault_files_vault_id_idx').on('vault_files').column('vault_id').execute();
  await db.schema.createIndex('vault_files_container_idx').on('vault_files').column('container_id').execute();

  // One audit log for every domain: container changes (category `container`) and security events
  // (logins, tokens, users) share it, so one query answers "who did what, when".
  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('object_type', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('object_id', 'text')
    .addColumn('container_id', 'bigint')
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('audit_log_time_idx').on('audit_log').column('time').execute();
  await db.schema.createIndex('audit_log_container_idx').on('audit_log').column('container_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_log').execute();
  await db.schema.dropTable('vault_files').execute();
}
