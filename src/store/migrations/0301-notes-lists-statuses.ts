import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('notes')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('container_id', 'bigint', (c) => c.notNull().references('containers.id').onDelete('cascade'))
    .addColumn('artifact_id', 'bigint', (c) => c.references('artifacts.id').onDelete('set null'))
    .addColumn('title', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('content', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('note_type', 'text', (c) => c.notNull().defaultTo('general'))
    .addColumn('note_format', 'text', (c) => c.notNull().defaultTo('markdown'))
    .addColumn('author_id', 'bigint')
    .addColumn('author', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('create_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('modified_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('notes_container_idx').on('notes').column('container_id').execute();

  await db.schema
    .createTable('decided_lists')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('content', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('create_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('update_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Severities and container statuses are data, not code: operators add their own (Splunk SOAR's
  // /rest/severity and /rest/container_status); every custom status maps to one of three types.
  await db.schema
    .createTable('severities')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('color', 'text', (c) => c.notNull().defaultTo('white'))
    .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable('container_statuses')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('status_type', 'text', (c) => c.notNull())
    .addCheckConstraint('container_statuses_type_chk', sql`status_type in ('new', 'open', 'closed')`)
    .execute();
  await sql`insert into severities (name, color, position) values ('low', 'yellow', 0), ('medium', 'orange', 1), ('high', 'red', 2)`.execute(
    db,
  );
  await sql`insert into container_statuses (name, status_type) values ('new', 'new'), ('open', 'open'), ('closed', 'closed')`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('container_statuses').execute();
  await db.schema.dropTable('severities').execute();
  await db.schema.dropTable('decided_lists').execute();
  await db.schema.dropTable('notes').execute();
}
