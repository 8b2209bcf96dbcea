import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testStores } from '../testing/stores.ts';
import { addVaultFile } from '../vault/index.ts';
import { createContainer, deleteContainer, getContainer, updateContainer } from './container.repository.ts';
import { automationEvents, type ContainerCreatedEvent } from './events.ts';
import { createNote } from './note.repository.ts';
import { addArtifacts } from './artifact.repository.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
            {
              name: 'listener',
              source_data_identifier: 'a1',
              cef: { destinationAddress: '198.18.0.2', destinationPort: 9090 },
            },
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
        const row = await store.db
          .selectFrom('artifacts')
          .selectAll()
          .where('id', '=', a0.id)
          .executeTakeFirstOrThrow();
        assert.deepEqual(row.cef, { destinationAddress: '198.18.0.2', destinationPort: 9090 });
        const n = await store.db
          .selectFrom('containers')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        assert.equal(n.n, 1);
      } finally {
        await store.close();
      }
    });
    it('emits container_created after commit (not for a duplicate), audits changes, closes and deletes with notes and vault entries', async () => {
      const store = await makeStore();
      const dir = mkdtempSync(join(tmpdir(), 'portcullis-ct-'));
      const seen: ContainerCreatedEvent[] = [];
      const listener = (e: ContainerCreatedEvent) => {
        seen.push(e);
      };
      automationEvents.on('container_created', listener);
      try {
        const db = store.db;
        const r = await createContainer(
          db,
          { name: 'c', label: 'network_exposure', source_data_identifier: 'x', artifacts: [{ name: 'a' }] },
          { actor: 'detection' },
        );
        assert.ok(r.created);
        assert.equal(seen.length, 1);
        assert.equal(seen[0]!.containerId, r.id);
        // the listener runs after commit: the row is visible to any connection
        assert.ok(await getContainer(db, r.id));
        await createContainer(db, { name: 'c', source_data_identifier: 'x' });
        assert.equal(seen.length, 1, 'a duplicate emits nothing');

        const changes = await updateContainer(
          db,
          r.id,
          { status: 'closed', severity: 'medium' },
          { actor: 'alice' },
        );
        // severity was already medium (the default): only status and close_time change
        assert.deepEqual(
          changes.map((c) => c.field),
          ['status', 'close_time'],
        );
        assert.ok((await getContainer(db, r.id))!.close_time);
        assert.deepEqual(await updateContainer(db, r.id, { status: 'closed' }), []);
        await assert.rejects(updateContainer(db, 999999, { status: 'open' }), /container 999999 not found/);
        await assert.rejects(
          createContainer(db, { name: 'bad', status: 'pending' }),
          /status: unknown status "pending" \(known: new, open, closed\)/,
        );

        await createNote(db, { container_id: r.id, content: 'n' }, { username: 'alice' });
        await addVaultFile(
          db,
          { config: { dataDir: dir, vaultMaxBytes: 1000 } },
          { containerId: r.id, data: 'v', fileName: 'v.txt' },
        );
        const trail = await db
          .selectFrom('audit_log')
          .select(['actor', 'action', 'object_type'])
          .where('container_id', '=', r.id)
          .orderBy('id')
          .execute();
        assert.deepEqual(trail, [
          { actor: 'detection', action: 'create', object_type: 'container' },
          { actor: 'detection', action: 'create', object_type: 'artifact' },
          { actor: 'alice', action: 'update', object_type: 'container' },
          { actor: 'alice', action: 'create', object_type: 'note' },
          { actor: 'system', action: 'create', object_type: 'vault_file' },
        ]);
        assert.equal(await deleteContainer(db, r.id, { actor: 'alice' }), true);
        assert.equal(await deleteContainer(db, r.id), false);
        for (const t of ['artifacts', 'notes', 'vault_files'] as const) {
          const n = await db
            .selectFrom(t)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('container_id', '=', r.id)
            .executeTakeFirstOrThrow();
          assert.equal(Number(n.n), 0, `${t} of the deleted container are gone`);
        }
      } finally {
        automationEvents.off('container_created', listener);
        rmSync(dir, { recursive: true, force: true });
        await store.close();
      }
    });
    it('gives concurrent creators of the same source_data_identifier one container and duplicate answers', async () => {
      const store = await makeStore();
      try {
        const results = await Promise.all(
          Array.from({ length: 8 }, () =>
            createContainer(store.db, { name: 'race', source_data_identifier: 'race-1' }),
          ),
        );
        const created = results.filter((r) => r.created);
        assert.equal(created.length, 1);
        const id = (created[0] as { id: number }).id;
        for (const r of results) if (!r.created) assert.equal(r.existing_container_id, id);
        const arts = await Promise.all(
          Array.from({ length: 8 }, () =>
            addArtifacts(store.db, [{ container_id: id, name: 'a', source_data_identifier: 'a-1' }]),
          ),
        );
        const flat = arts.flat();
        const ids = flat.flatMap((r) => ('id' in r ? [r.id] : []));
        assert.equal(ids.length, 1);
        for (const r of flat) if (!('id' in r)) assert.deepEqual(r, { existing_artifact_id: ids[0] });
      } finally {
        await store.close();
      }
    });
  });
}
