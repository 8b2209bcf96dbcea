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
    it('checks severity, status, owner and times; a bad inline artifact fails alone', async () => {
      const store = await makeStore();
      try {
        const db = store.db;
        await assert.rejects(
          createContainer(db, { name: 'x', severity: 'urgent' }),
          /severity: unknown severity "urgent" \(known: low, medium, high\)/,
        );
        await assert.rejects(
          createContainer(db, { name: 'x', sensitivity: 'purple' }),
          /sensitivity: must be one of white, green, amber, red/,
        );
        await assert.rejects(
          createContainer(db, { name: 'x', owner_id: 'nobody' }),
          /owner_id: no user "nobody"/,
        );
        await assert.rejects(
          createContainer(db, { name: 'x', due_time: 'soon' }),
          /due_time: not an ISO-8601 time/,
        );
        const r = await createContainer(db, {
          name: 'closed one',
          severity: 'high',
          status: 'closed',
          sensitivity: 'red',
          description: 'd',
          source_data_identifier: 'checked-1',
          start_time: '2026-01-02T03:04:05Z',
          artifacts: [
            { name: 'ok', severity: 'low', source_data_identifier: 's1' },
            { name: 'bad severity', severity: 'urgent' },
            { name: 'bad time', start_time: 'yesterday' },
            { name: 'again', source_data_identifier: 's1' },
            { name: 'plain' },
          ],
        });
        assert.ok(r.created);
        assert.ok('id' in r.artifacts[0]!);
        const first = (r.artifacts[0] as { id: number }).id;
        assert.deepEqual(r.artifacts[1], {
          failed: true,
          message: 'artifacts/1: severity: unknown severity "urgent" (known: low, medium, high)',
        });
        assert.deepEqual(r.artifacts[2], {
          failed: true,
          message: 'artifacts/2: start_time: not an ISO-8601 time: "yesterday"',
        });
        assert.deepEqual(r.artifacts[3], { existing_artifact_id: first });
        assert.ok('id' in r.artifacts[4]! && (r.artifacts[4] as { id: number }).id > first);
        const c = (await getContainer(db, r.id))!;
        assert.deepEqual(
          [c.severity, c.status, c.status_type, c.sensitivity, c.description, c.artifact_count],
          ['high', 'closed', 'closed', 'red', 'd', 2],
        );
        assert.ok(c.close_time, 'a closed status sets close_time');
        assert.equal(c.start_time, '2026-01-02T03:04:05.000Z');
        const arts = await db
          .selectFrom('artifacts')
          .select(['id', 'name', 'severity', 'label'])
          .where('container_id', '=', r.id)
          .orderBy('id')
          .execute();
        assert.deepEqual(
          arts.map((a) => [a.name, a.severity, a.label]),
          [
            ['ok', 'low', 'event'],
            ['plain', 'medium', 'event'],
          ],
        );
        const trail = await db
          .selectFrom('audit_log')
          .select(['object_type', 'object_id', 'details'])
          .where('container_id', '=', r.id)
          .orderBy('id')
          .execute();
        assert.deepEqual(trail, [
          {
            object_type: 'container',
            object_id: String(r.id),
            details: { name: 'closed one', label: 'events', source_data_identifier: 'checked-1' },
          },
          {
            object_type: 'artifact',
            object_id: String(arts[0]!.id),
            details: { name: 'ok', label: 'event' },
          },
          {
            object_type: 'artifact',
            object_id: String(arts[1]!.id),
            details: { name: 'plain', label: 'event' },
          },
        ]);
        // a duplicate is answered whatever its fields say, as before
        assert.deepEqual(
          await createContainer(db, {
            name: 'x',
            sensitivity: 'purple',
            source_data_identifier: 'checked-1',
          }),
          { created: false, existing_container_id: r.id },
        );
        assert.deepEqual(
          await createContainer(db, { name: 'x', severity: 'urgent', source_data_identifier: 'checked-1' }),
          {
            created: false,
            existing_container_id: r.id,
          },
        );
      } finally {
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
