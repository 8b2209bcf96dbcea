import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('services')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('addr', sql`inet`, (c) => c.notNull())
    .addColumn('protocol', 'text', (c) => c.notNull().check(sql`protocol in ('tcp','udp','sctp')`))
    .addColumn('port', 'integer', (c) => c.notNull().check(sql`port between 0 and 65535`))
    .addColumn('state', 'text', (c) =>
      c.notNull().check(sql`state in ('new','approved','unapproved','gone')`),
    )
    .addColumn('evidence', 'text', (c) => c.notNull().check(sql`evidence in ('strong','weak')`))
    .addColumn('first_seen', 'timestamptz', (c) => c.notNull())
    .addColumn('last_seen', 'timestamptz', (c) => c.notNull())
    .addColumn('observations', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('sources', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('reason', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('last_source', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('service', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('hostnames', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('justification', 'text')
    .addColumn('approver', 'text')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('tags', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('detection', 'text')
    .addColumn('container_id', 'bigint')
    .addColumn('gone_at', 'timestamptz')
    .addColumn('state_changed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('services_key', ['host', 'protocol', 'port'])
    .execute();
  await db.schema
    .createIndex('services_addr_idx')
    .on('services')
    .columns(['addr', 'protocol', 'port'])
    .execute();
  await db.schema.createIndex('services_port_idx').on('services').columns(['port', 'protocol']).execute();
  await db.schema.createIndex('services_last_seen_idx').on('services').column('last_seen').execute();
  await db.schema.createIndex('services_state_idx').on('services').column('state').execute();

  await db.schema
    .createTable('service_changes')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('service_id', 'bigint', (c) => c.notNull().references('services.id').onDelete('cascade'))
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('port', 'integer', (c) => c.notNull())
    .addColumn('change', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('service_changes_at_idx').on('service_changes').columns(['at', 'id']).execute();
  await db.schema
    .createIndex('service_changes_service_idx')
    .on('service_changes')
    .column('service_id')
    .execute();

  await db.schema
    .createTable('imports')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('file', 'text')
    .addColumn('format', 'text')
    .addColumn('host', 'text')
    .addColumn('learning', 'boolean')
    .addColumn('username', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('summary', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('error', 'text')
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('imports').execute();
  await db.schema.dropTable('service_changes').execute();
  await db.schema.dropTable('services').execute();
}
