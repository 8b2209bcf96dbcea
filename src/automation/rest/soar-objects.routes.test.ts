import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../identity/test-server.ts';
import { testStores } from '../../testing/stores.ts';
import { getVault, putVault, vaultPath } from '../../vault/index.ts';
import { automationEvents, type ArtifactAddedEvent, type ContainerCreatedEvent } from '../events.ts';

// Expected shapes come from REST-COMPAT.md (Splunk SOAR's documented request and response bodies).

type Json = Record<string, unknown>;

function client(s: TestServer, role: keyof TestServer['tokens'] = 'admin') {
  const call = async (
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await s.app.inject({
      method,
      url,
      headers: {
        'ph-auth-token': s.tokens[role],
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = res.body;
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, json: json as Json & Json[], text, headers: res.headers };
  };
  return call;
}

const container = (sdi: string, extra: Json = {}) => ({
  name: 'New listening port 198.18.0.2:9090/tcp',
  label: 'network_exposure',
  severity: 'medium',
  status: 'new',
  source_data_identifier: sdi,
  artifacts: [
    {
      name: 'listener',
      label: 'service',
      source_data_identifier: `${sdi}-a`,
      cef: { destinationAddress: '198.18.0.2', destinationPort: 9090, transportProtocol: 'TCP' },
      cef_types: { destinationAddress: ['ip'], destinationPort: ['port'] },
    },
  ],
  ...extra,
});

for (const [storeName, makeStore] of testStores()) {
  describe(`Splunk SOAR objects over REST on ${storeName}`, () => {
    it('creates a container with inline artifacts, answers a duplicate, reads, lists with filters and paging', async () => {
      const s = await startTestServer({ makeStore });
      const api = client(s);
      try {
        const created = await api('POST', '/rest/container', container('svc:198.18.0.2:tcp:9090'));
        assert.equal(created.status, 200);
        assert.equal(created.json.success, true);
        assert.equal(typeof created.json.id, 'number');
        const arts = created.json.artifacts as Json[];
        assert.equal(arts.length, 1);
        assert.equal(typeof arts[0]!.id, 'number');

        const dup = await api('POST', '/rest/container', container('svc:198.18.0.2:tcp:9090'));
        assert.equal(dup.status, 200);
        assert.equal(dup.json.existing_container_id, created.json.id);
        assert.equal(dup.json.failed, true);
        assert.match(String(dup.json.message), /^duplicate/);

        const one = await api('GET', `/rest/container/${created.json.id}`);
        assert.equal(one.status, 200);
        assert.equal(one.json.id, created.json.id);
        assert.equal(one.json.label, 'network_exposure');
        assert.equal(one.json.status, 'new');
        assert.equal(one.json.artifact_count, 1);
        assert.equal(one.json.close_time, null);

        for (let i = 0; i < 12; i++)
          await api('POST', '/rest/container', {
            name: `bulk ${i}`,
            label: i % 3 === 0 ? 'events' : 'other',
            severity: i % 2 ? 'high' : 'low',
          });

        const all = await api('GET', '/rest/container');
        assert.equal(all.json.count, 13);
        assert.equal(all.json.num_pages, 2);
        assert.equal((all.json.data as Json[]).length, 10, 'page_size defaults to 10');
        const page1 = await api('GET', '/rest/container?page=1&page_size=10');
        assert.equal((page1.json.data as Json[]).length, 3);
        const everything = await api('GET', '/rest/container?page_size=0');
        assert.equal((everything.json.data as Json[]).length, 13);
        assert.equal(everything.json.num_pages, 1);

        const bySdi = await api(
          'GET',
          '/rest/container?_filter_source_data_identifier=%22svc:198.18.0.2:tcp:9090%22',
        );
        assert.equal(bySdi.json.count, 1);
        assert.equal((bySdi.json.data as Json[])[0]!.id, created.json.id);

        const events = await api(
          'GET',
          `/rest/container?_filter_label=%22events%22&_filter_severity=%22low%22&page_size=0`,
        );
        // bulk i = 0, 6 (label events, i%3==0) and low (even i): 0 and 6; i=3,9 are high
        assert.deepEqual((events.json.data as Json[]).map((c) => c.name).sort(), ['bulk 0', 'bulk 6']);

        const sorted = await api(
          'GET',
          '/rest/container?sort=name&order=desc&page_size=3&_filter_name__startswith=%22bulk%22',
        );
        assert.deepEqual(
          (sorted.json.data as Json[]).map((c) => c.name),
          ['bulk 9', 'bulk 8', 'bulk 7'],
        );
        const singleQuoted = await api('GET', "/rest/container?_filter_name__icontains='BULK 1'&page_size=0");
        assert.deepEqual((singleQuoted.json.data as Json[]).map((c) => c.name).sort(), [
          'bulk 1',
          'bulk 10',
          'bulk 11',
        ]);
        const inList = await api('GET', '/rest/container?_filter_severity__in=["high","medium"]&page_size=0');
        assert.equal(inList.json.count, 7);
        const excluded = await api('GET', '/rest/container?_exclude_label=%22other%22&page_size=0');
        assert.equal(excluded.json.count, 5);
        const gt = await api('GET', `/rest/container?_filter_id__gt=${created.json.id}&page_size=0`);
        assert.equal(gt.json.count, 12);

        const unknown = await api('GET', '/rest/container?_filter_password=%22x%22');
        assert.equal(unknown.status, 400);
        assert.equal(unknown.json.failed, true);
        assert.match(String(unknown.json.message), /_filter_password: container has no field "password"/);
        const unquoted = await api('GET', '/rest/container?_filter_label=events');
        assert.equal(unquoted.status, 400);
        assert.match(String(unquoted.json.message), /quote strings/);

        const byCef = await api('GET', '/rest/artifact?_filter_cef__destinationAddress=%22198.18.0.2%22');
        assert.equal(byCef.json.count, 1);
        const byPort = await api('GET', '/rest/artifact?_filter_cef__destinationPort__gte=9000');
        assert.equal(byPort.json.count, 1);
        const byPortLow = await api('GET', '/rest/artifact?_filter_cef__destinationPort__lt=9000');
        assert.equal(byPortLow.json.count, 0);
      } finally {
        await s.close();
      }
    });

    it('updates fields with an audit trail, sets close_time on close, deletes', async () => {
      const s = await startTestServer({ makeStore });
      const api = client(s);
      try {
        const { json } = await api('POST', '/rest/container', container('upd-1'));
        const id = json.id as number;
        const upd = await api('POST', `/rest/container/${id}`, {
          status: 'closed',
          severity: 'high',
          owner_id: 'analyst-user',
          tags: ['pci'],
        });
        assert.equal(upd.status, 200);
        assert.deepEqual(upd.json, { id, success: true });
        const c = (await api('GET', `/rest/container/${id}`)).json;
        assert.equal(c.status, 'closed');
        assert.equal(c.status_type, 'closed');
        assert.equal(c.severity, 'high');
        assert.equal(c.owner_name, 'analyst-user');
        assert.deepEqual(c.tags, ['pci']);
        for (const q of [
          '_filter_tags=%22pci%22',
          '_filter_tags__contains=[%22pci%22]',
          '_filter_tags=[%22pci%22]',
        ])
          assert.equal((await api('GET', `/rest/container?${q}`)).json.count, 1, q);
        assert.equal((await api('GET', '/rest/container?_filter_tags=[%22pci%22,%22sox%22]')).json.count, 0);
        assert.equal((await api('GET', '/rest/container?_filter_tags__contains=%22sox%22')).json.count, 0);
        assert.ok(typeof c.close_time === 'string' && !Number.isNaN(Date.parse(c.close_time)));
        const reopened = await api('POST', `/rest/container/${id}`, { status: 'open' });
        assert.equal(reopened.status, 200);
        assert.equal((await api('GET', `/rest/container/${id}`)).json.close_time, null);

        const bad = await api('POST', `/rest/container/${id}`, { severity: 'apocalyptic' });
        assert.equal(bad.status, 400);
        assert.match(
          String(bad.json.message),
          /^severity: unknown severity "apocalyptic" \(known: low, medium, high\)/,
        );
        const badSens = await api('POST', `/rest/container/${id}`, { sensitivity: 'purple' });
        assert.match(String(badSens.json.message), /^sensitivity: must be one of white, green, amber, red/);
        const badType = await api('POST', `/rest/container/${id}`, { tags: 'pci' });
        assert.equal(badType.status, 400);
        assert.match(String(badType.json.message), /^tags: /);
        const noUser = await api('POST', `/rest/container/${id}`, { owner_id: 'nobody' });
        assert.match(String(noUser.json.message), /^owner_id: no user "nobody"/);

        // custom severity and status, then use them
        assert.equal(
          (await api('POST', '/rest/severity', { name: 'critical', color: 'purple' })).status,
          200,
        );
        assert.equal(
          (await api('POST', '/rest/container_status', { name: 'resolved', status_type: 'closed' })).status,
          200,
        );
        await api('POST', `/rest/container/${id}`, { severity: 'critical', status: 'resolved' });
        const after = (await api('GET', `/rest/container/${id}`)).json;
        assert.equal(after.severity, 'critical');
        assert.equal(after.status_type, 'closed');
        assert.ok(after.close_time);

        const trail = await api('GET', `/rest/container/${id}/audit?page_size=0`);
        const entries = trail.json.data as Json[];
        const changed = entries.filter((e) => e.action === 'update').map((e) => (e.details as Json).field);
        assert.deepEqual(changed.sort(), [
          'owner_id',
          'severity',
          'severity',
          'status',
          'status',
          'status',
          'tags',
        ]);
        const statusChange = entries.find(
          (e) => e.action === 'update' && (e.details as Json).field === 'status',
        )!;
        assert.deepEqual(statusChange.details, { field: 'status', old: 'new', new: 'closed' });
        assert.equal(statusChange.actor, 'admin-user');
        assert.equal(entries[0]!.action, 'create');
        const audit = await api('GET', `/rest/audit?container=${id}&_filter_action=%22update%22&page_size=0`);
        assert.equal(audit.json.count, 7);
        const jsonl = await api('GET', `/rest/audit?format=jsonl&container=${id}`);
        assert.match(String(jsonl.headers['content-type']), /application\/x-ndjson/);
        const lines = jsonl.text
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Json);
        assert.equal(lines.length, entries.length);
        assert.deepEqual(
          lines.map((l) => l.id),
          entries.map((e) => e.id),
        );
        const forbidden = await client(s, 'analyst')('GET', '/rest/audit');
        assert.equal(forbidden.status, 403);

        const del = await api('DELETE', `/rest/container/${id}`);
        assert.equal(del.status, 200);
        assert.equal((await api('GET', `/rest/container/${id}`)).status, 404);
        assert.equal((await api('GET', `/rest/container/${id}`)).json.failed, true);
        const afterDelete = await api('GET', `/rest/audit?container=${id}&_filter_action=%22delete%22`);
        assert.equal(afterDelete.json.count, 1, 'the trail outlives the container');
      } finally {
        await s.close();
      }
    });

    it('adds artifacts one by one and in bulk with per-item answers and emits artifact_added', async () => {
      const s = await startTestServer({ makeStore });
      const api = client(s);
      const seen: ArtifactAddedEvent[] = [];
      const created: ContainerCreatedEvent[] = [];
      const onArt = (e: ArtifactAddedEvent) => seen.push(e);
      const onCont = (e: ContainerCreatedEvent) => created.push(e);
      automationEvents.on('artifact_added', onArt);
      automationEvents.on('container_created', onCont);
      try {
        const cid = (await api('POST', '/rest/container', container('art-1'))).json.id as number;
        assert.equal(created.length, 1);
        assert.equal(created[0]!.containerId, cid);
        assert.equal(created[0]!.label, 'network_exposure');
        assert.equal(created[0]!.artifactIds.length, 1);

        const one = await api('POST', '/rest/artifact', {
          container_id: cid,
          name: 'b',
          cef: { sourceAddress: '198.18.0.9' },
          source_data_identifier: 'b',
          run_automation: true,
        });
        assert.equal(one.status, 200);
        assert.equal(one.json.success, true);
        assert.equal(typeof one.json.id, 'number');
        assert.deepEqual(seen, [
          { containerId: cid, artifactId: one.json.id, label: 'event', runAutomation: true },
        ]);

        const again = await api('POST', '/rest/artifact', {
          container_id: cid,
          name: 'b',
          source_data_identifier: 'b',
        });
        assert.equal(again.json.existing_artifact_id, one.json.id);
        assert.equal(again.json.failed, true);

        const missing = await api('POST', '/rest/artifact', { name: 'c' });
        assert.equal(missing.status, 400);
        assert.match(String(missing.json.message), /^container_id: /);
        const noContainer = await api('POST', '/rest/artifact', { container_id: 999999, name: 'c' });
        assert.equal(noContainer.status, 400);
        assert.match(String(noContainer.json.message), /container_id: no container 999999/);

        const bulk = await api('POST', '/rest/artifact', [
          { container_id: cid, name: 'd', source_data_identifier: 'd' },
          { container_id: cid, name: 'b', source_data_identifier: 'b' },
          { container_id: cid, name: 'e', severity: 'extreme' },
          { name: 'f' },
        ]);
        assert.equal(bulk.status, 200);
        const r = bulk.json as unknown as Json[];
        assert.equal(r.length, 4);
        assert.equal(r[0]!.success, true);
        assert.equal(r[1]!.existing_artifact_id, one.json.id);
        assert.equal(r[2]!.failed, true);
        assert.match(String(r[2]!.message), /severity: unknown severity "extreme"/);
        assert.match(String(r[3]!.message), /^3\/container_id: /);
        assert.equal(seen.length, 2);
        assert.equal(seen[1]!.runAutomation, false);

        const list = await api('GET', `/rest/container/${cid}/artifacts?page_size=0`);
        assert.equal(list.json.count, 3);
        const art = await api('GET', `/rest/artifact/${one.json.id}`);
        assert.equal(art.json.container, cid);
        assert.deepEqual(art.json.cef, { sourceAddress: '198.18.0.9' });
        const upd = await api('POST', `/rest/artifact/${one.json.id}`, {
          cef: { sourceAddress: '198.18.0.10' },
        });
        assert.equal(upd.status, 200);
        assert.deepEqual((await api('GET', `/rest/artifact/${one.json.id}`)).json.cef, {
          sourceAddress: '198.18.0.10',
        });
        assert.equal((await api('DELETE', `/rest/artifact/${one.json.id}`)).status, 200);
        assert.equal((await api('GET', `/rest/artifact/${one.json.id}`)).status, 404);

        // A bad inline artifact is reported in its slot; the container and the good ones are kept.
        const mixed = await api('POST', '/rest/container', {
          name: 'mixed',
          artifacts: [
            { name: 'ok' },
            { name: 'bad', cef: 'not an object' },
            { name: 'bad severity', severity: 'x' },
          ],
        });
        assert.equal(mixed.json.success, true);
        const slots = mixed.json.artifacts as Json[];
        assert.equal(typeof slots[0]!.id, 'number');
        assert.equal(slots[1]!.failed, true);
        assert.match(String(slots[1]!.message), /^artifacts\/1\/cef: /);
        assert.match(String(slots[2]!.message), /severity: unknown severity "x"/);
      } finally {
        automationEvents.off('artifact_added', onArt);
        automationEvents.off('container_created', onCont);
        await s.close();
      }
    });

    it('keeps notes on containers and custom lists with Splunk SOAR row updates', async () => {
      const s = await startTestServer({ makeStore });
      const api = client(s);
      try {
        const cid = (await api('POST', '/rest/container', { name: 'n' })).json.id as number;
        const note = await api('POST', '/rest/note', { container_id: cid, title: 't', content: 'checked' });
        assert.equal(note.status, 200);
        assert.equal(note.json.success, true);
        const bulk = await api('POST', '/rest/note', [
          { container_id: cid, title: 'a', content: 'x', note_type: 'general' },
          { container_id: 424242, title: 'b', content: 'y' },
        ]);
        const r = bulk.json as unknown as Json[];
        assert.equal(r[0]!.success, true);
        assert.match(String(r[1]!.message), /container_id: no container 424242/);
        const notes = await api('GET', `/rest/container/${cid}/notes?page_size=0`);
        assert.equal(notes.json.count, 2);
        const n = (await api('GET', `/rest/note/${note.json.id}`)).json;
        assert.equal(n.container, cid);
        assert.equal(n.author_name, 'admin-user');
        assert.equal(n.content, 'checked');
        const filtered = await api('GET', '/rest/note?_filter_title=%22a%22');
        assert.equal(filtered.json.count, 1);

        const created = await api('POST', '/rest/decided_list', {
          name: 'approved ports',
          content: [
            ['198.18.0.2', 22],
            ['198.18.0.3', 443],
          ],
        });
        assert.equal(created.status, 200);
        assert.equal(created.json.success, true);
        const dup = await api('POST', '/rest/decided_list', { name: 'approved ports', content: [] });
        assert.equal(dup.status, 400);
        const got = await api('GET', '/rest/decided_list/approved%20ports');
        assert.deepEqual(got.json.content, [
          ['198.18.0.2', 22],
          ['198.18.0.3', 443],
        ]);
        const byId = await api('GET', `/rest/decided_list/${created.json.id}`);
        assert.equal(byId.json.name, 'approved ports');
        const rows = await api('POST', '/rest/decided_list/approved%20ports', {
          delete_rows: [0],
          update_rows: { '0': ['198.18.0.3', 8443] },
          append_rows: [['198.18.0.4', 80]],
        });
        assert.equal(rows.status, 200);
        assert.deepEqual((await api('GET', '/rest/decided_list/approved%20ports')).json.content, [
          ['198.18.0.3', 8443],
          ['198.18.0.4', 80],
        ]);
        const flat = await api('POST', '/rest/decided_list/approved%20ports', { content: ['a', 'b'] });
        assert.equal(flat.status, 200);
        assert.deepEqual((await api('GET', '/rest/decided_list/approved%20ports')).json.content, [
          ['a', 'b'],
        ]);
        const badRow = await api('POST', '/rest/decided_list/approved%20ports', { delete_rows: [5] });
        assert.equal(badRow.status, 400);
        assert.match(String(badRow.json.message), /delete_rows: no row 5/);
        const badCell = await api('POST', '/rest/decided_list/approved%20ports', {
          append_rows: [[{ x: 1 }]],
        });
        assert.match(String(badCell.json.message), /append_rows\/0\/0: cells hold simple values/);
        assert.equal((await api('GET', '/rest/decided_list/nope')).status, 404);
        assert.equal((await api('DELETE', '/rest/decided_list/approved%20ports')).status, 200);
      } finally {
        await s.close();
      }
    });
  });
}

describe('REST compatibility details (embedded store)', () => {
  it('reads JSON bodies sent without a JSON content type, as curl -d and python-requests do', async () => {
    const s = await startTestServer();
    const api = client(s);
    try {
      const form = await api('POST', '/rest/container', JSON.stringify({ name: 'from curl -d' }), {
        'content-type': 'application/x-www-form-urlencoded',
      });
      assert.equal(form.status, 200);
      assert.equal(form.json.success, true);
      const res = await s.app.inject({
        method: 'POST',
        url: '/rest/note',
        headers: { 'ph-auth-token': s.tokens.admin },
        payload: Buffer.from(JSON.stringify({ container_id: form.json.id, content: 'x' })),
      });
      assert.equal(res.statusCode, 200);
      const notJson = await api('POST', '/rest/container', 'name=x', {
        'content-type': 'application/x-www-form-urlencoded',
      });
      assert.equal(notJson.status, 400);
      assert.match(String(notJson.json.message), /not JSON/);
      const poisoned = await api('POST', '/rest/container', '{"name": "p", "__proto__": {"admin": true}}');
      assert.equal(poisoned.status, 400);
      assert.match(String(poisoned.json.message), /not JSON/);
      const emptyDelete = await s.app.inject({
        method: 'DELETE',
        url: `/rest/container/${form.json.id}`,
        headers: { 'ph-auth-token': s.tokens.admin, 'content-type': 'application/json' },
      });
      assert.equal(emptyDelete.statusCode, 200);
      const observer = client(s, 'observer');
      assert.equal((await observer('GET', '/rest/container')).status, 200);
      assert.equal((await observer('POST', '/rest/container', { name: 'x' })).status, 403);
      assert.equal((await s.app.inject({ method: 'GET', url: '/rest/container' })).statusCode, 401);
    } finally {
      await s.close();
    }
  });

  it('stores vault files by sha256, lists them, serves them and enforces the size limit', async () => {
    const s = await startTestServer({ env: { PORTCULLIS_VAULT_MAX_BYTES: '1000' } });
    const api = client(s);
    try {
      const cid = (await api('POST', '/rest/container', { name: 'v' })).json.id as number;
      const bytes = Buffer.from('nmap scan report\n'.repeat(20));
      const sha = createHash('sha256').update(bytes).digest('hex');
      const add = await api('POST', '/rest/vault_add', {
        container_id: cid,
        file_content: bytes.toString('base64'),
        file_name: 'scan.txt',
      });
      assert.equal(add.status, 200);
      assert.equal(add.json.succeeded, true);
      assert.equal(add.json.vault_id, sha);
      const path = vaultPath(s.ctx, sha);
      assert.equal(path, join(s.ctx.config.dataDir, 'vault', sha.slice(0, 2), sha.slice(2, 4), sha));
      assert.deepEqual(readFileSync(path), bytes);
      const again = await api('POST', '/rest/vault_add', {
        container_id: cid,
        file_content: bytes.toString('base64'),
        file_name: 'copy.txt',
      });
      assert.equal(again.json.vault_id, sha);

      const info = await api('GET', `/rest/vault_info?vault_id=${sha}`);
      assert.equal(info.json.succeeded, true);
      assert.equal(info.json.count, 2);
      assert.deepEqual(
        (info.json.data as Json[]).map((d) => d.name),
        ['scan.txt', 'copy.txt'],
      );
      assert.equal((info.json.data as Json[])[0]!.size, bytes.length);
      const byContainer = await api('GET', `/rest/vault_info?container_id=${cid}`);
      assert.equal(byContainer.json.count, 2);
      const attachments = await api('GET', `/rest/container/${cid}/attachments?_filter_name=%22copy.txt%22`);
      assert.equal(attachments.json.count, 1);
      assert.equal((await api('GET', '/rest/container/999999/attachments')).status, 404);
      const dl = await s.app.inject({
        method: 'GET',
        url: `/rest/vault_document/${add.json.id}/download`,
        headers: { 'ph-auth-token': s.tokens.admin },
      });
      assert.equal(dl.statusCode, 200);
      assert.deepEqual(dl.rawPayload, bytes);

      const big = await api('POST', '/rest/vault_add', {
        container_id: cid,
        file_content: Buffer.alloc(1001, 1).toString('base64'),
      });
      assert.equal(big.status, 413);
      assert.equal(big.json.succeeded, false);
      assert.match(String(big.json.message), /limit is 1000 bytes/);
      const notB64 = await api('POST', '/rest/vault_add', { container_id: cid, file_content: '!!!' });
      assert.equal(notB64.status, 400);
      const noContainer = await api('POST', '/rest/vault_add', { container_id: 999, file_content: 'aGk=' });
      assert.match(String(noContainer.json.message), /container_id: no container 999/);

      // The code API: what apps use for large results.
      const put = await putVault(
        s.ctx,
        (async function* () {
          yield Buffer.from('part one ');
          yield Buffer.from('part two');
        })(),
      );
      assert.equal(put.sha256, createHash('sha256').update('part one part two').digest('hex'));
      assert.equal((await getVault(s.ctx, put.sha256)).toString(), 'part one part two');
      await assert.rejects(putVault(s.ctx, Buffer.alloc(1001)), /limit is 1000 bytes/);
      assert.deepEqual(
        readdirSync(join(s.ctx.config.dataDir, 'vault', 'tmp')),
        [],
        'a refused put leaves no temporary file',
      );
    } finally {
      await s.close();
    }
  });
});
