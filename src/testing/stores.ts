import { after, before } from 'node:test';
import { openStore, type Store } from '../store/index.ts';
import { startPostgres, type TestCluster } from './postgres.ts';

export type StoreFactory = () => Promise<Store>;

let cluster: Promise<TestCluster> | undefined;
let dbCounter = 0;

/**
 * The two stores every repository test runs against: embedded PGlite (in memory) and a real
 * PostgreSQL 15 started for this test file. Call at the top level of a test file:
 *
 *   for (const [name, makeStore] of testStores()) describe(name, () => { ... })
 *
 * Each call of a factory gives a fresh, migrated, empty database.
 */
export function testStores(): Array<[string, StoreFactory]> {
  before(() => {});
  after(async () => {
    if (cluster) await (await cluster).stop();
  });
  return [
    ['embedded (PGlite)', () => openStore({ databaseUrl: 'memory://' })],
    [
      'PostgreSQL 15',
      async () => {
        cluster ??= startPostgres();
        const c = await cluster;
        const url = await c.createDatabase(`t${process.pid}_${++dbCounter}`);
        return openStore({ databaseUrl: url, poolSize: 4 });
      },
    ],
  ];
}
