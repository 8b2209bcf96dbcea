import type { Migration } from 'kysely';
import * as m0001 from './0001-foundation.ts';
import * as m0002 from './0002-sessions.ts';
import * as m0100 from './0100-baseline.ts';
import * as m0101 from './0101-service-gone-reason.ts';
import * as m0200 from './0200-scan.ts';
import * as m0300 from './0300-containers.ts';
import * as m0301 from './0301-notes-lists-statuses.ts';
import * as m0302 from './0302-vault-audit.ts';
import * as m0350 from './0350-automation-runs.ts';

/**
 * Every migration, in order. Names sort: domains take a block of numbers (0001–0099 foundation and
 * identity, 0100 ingest/baseline, 0200 scan, 0300 automation, 0400 identity extras, 0500 web). The same
 * migrations run on the embedded store and on PostgreSQL.
 */
export const MIGRATIONS: Record<string, Migration> = {
  '0001-foundation': m0001,
  '0002-sessions': m0002,
  '0100-baseline': m0100,
  '0101-service-gone-reason': m0101,
  '0200-scan': m0200,
  '0300-containers': m0300,
  '0301-notes-lists-statuses': m0301,
  '0302-vault-audit': m0302,
  '0350-automation-runs': m0350,
};
