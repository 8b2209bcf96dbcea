import type { Kysely } from 'kysely';

/**
 * Why a service is gone: `closed` (evidence that nothing listens), `unseen` (not seen for goneAfter),
 * `manual`. And the port index gains the host: a lookup by (host, protocol, port) must never scan
 * every host listening on a popular port.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('services').addColumn('gone_reason', 'text').execute();
  await db.schema.dropIndex('services_port_idx').execute();
  await db.schema
    .createIndex('services_port_idx')
    .on('services')
    .columns(['port', 'protocol', 'host'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('services_port_idx').execute();
  await db.schema.createIndex('services_port_idx').on('services').columns(['port', 'protocol']).execute();
  await db.schema.alterTable('services').dropColumn('gone_reason').execute();
}
