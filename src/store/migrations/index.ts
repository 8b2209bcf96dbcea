import type { Migration } from 'kysely';
import * as m0001 from './0001-foundation.ts';
import * as m0300 from './0300-containers.ts';

/**
 * Every migration, in order. Names sort: domains take a block of numbers (0001–0099 foundation and
 * identity, 0100 ingest/baseline, 0200 scan, 0300 automation, 0400 identity extras, 0500 web). The same
 * migrations run on the embedded store and on PostgreSQL.
 */
export const MIGRATIONS: Record<string, Migration> = {
  '0001-foundation': m0001,
  '0300-containers': m0300,
};
