import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testStores } from '../testing/stores.ts';
import { createContainer } from './container.repository.ts';

for (const [name, makeStore] of testStores()) {
  describe(`containers on ${name}`, () => {
    it('creates a container with inline artifacts and refuses a duplicate source_data_identifier', async () => {
      const store = await makeStore();
      try {
        const input = {
          name: 'New listening port 198.18.0.2:9090/tcp',
          label: 'network_exposure',
          source_data_identifier: 'svc:198.18.0.2:tcp:9090',
          artifacts: [
            { name: 'listener', source_data_identifier: 'a1', cef: { destinationAddress: '198.18.0.2', destinationPort: 9090 } },
            { name: 'same again', source_data_identifier: 'a1', cef: {} },
          ],
        };
        const first = await createContainer(store.db, input);
        assert.equal(first.created, true);
        if (!first.created) return;
        assert.ok('id' in first.artifacts[0]!);
        const a0 = first.artifacts[0] as { id: number };
        assert.deepEqual(first.artifacts[1], { existing_artifact_id: a0.id });
        const second = await createContainer(store.db, input);
        assert.deepEqual(second, { created: false, existing_container_id: first.id });
        const row = await store.db.selectFrom('artifacts').selectAll().where('id', '=', a0.id).executeTakeFirstOrThrow();
        assert.deepEqual(row.cef, { destinationAddress: '198.18.0.2', destinationPort: 9090 });
        const n = await store.db.selectFrom('containers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        assert.equal(n.n, 1);
      } finally {
        await store.close();
      }
    });
  });
}
