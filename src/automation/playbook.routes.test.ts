import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../identity/test-server.ts';
import { testStores } from '../testing/stores.ts';
import { getVault } from '../vault/index.ts';
import { eventually } from './run.testing.ts';
import { startAutomation } from './run.service.ts';

// Request and response shapes from REST-COMPAT.md (Splunk SOAR's action_run, app_run, playbook_run).

type Json = Record<string, unknown>;

function client(s: TestServer, role: keyof TestServer['tokens'] = 'admin') {
  return async (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) => {
    const res = await s.app.inject({
      method,
      url,
      headers: {
        'ph-auth-token': s.tokens[role],
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    return { status: res.statusCode, json: JSON.parse(res.body || 'null') as Json & { data: Json[] } };
  };
}

async function closedPort(): Promise<number> {
  const srv: Server = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

for (const [name, makeStore] of testStores()) {
  describe(`automation REST API on ${name}`, () => {
    it('runs an action and polls action_run and app_run in SOAR shapes', async () => {
      const s = await startTestServer({ makeStore });
      await startAutomation(s.ctx, { pollMs: 20 });
      const api = client(s);
      try {
        const apps = await api('GET', '/rest/app');
        assert.ok(apps.json.data.some((a) => a.name === 'nftables Firewall'));
        const run = await api('POST', '/rest/action_run', {
          action: 'no op',
          name: 'noop_1',
          type: 'generic',
          targets: [
            {
              app_id: '3f6f5f51-fcf5-439d-9a52-5141cfea1c35',
              assets: [],
              parameters: [{ value: 'x' }, { value: 'y' }],
            },
          ],
        });
        assert.equal(run.status, 200);
        assert.equal(run.json.success, true);
        const id = run.json.action_run_id as number;
        const done = await eventually(async () => {
          const r = await api('GET', `/rest/action_run/${id}`);
          return r.json.status === 'success' || r.json.status === 'failed' ? r.json : undefined;
        });
        assert.equal(done.status, 'success');
        const appRuns = await api('GET', `/rest/app_run?_filter_action_run=${id}&page_size=0`);
        assert.equal(appRuns.json.count, 2);
        const results = appRuns.json.data.map((a) => (a.result_data as Json[])[0]!);
        assert.deepEqual(results.map((r) => (r.data as Json[])[0]!.value).sort(), ['x', 'y']);
        for (const r of results)
          assert.deepEqual(Object.keys(r).sort(), ['data', 'message', 'parameter', 'status', 'summary']);

        const bad = await api('POST', '/rest/action_run', {
          action: 'no op',
          targets: [{ app: 'Utility', parameters: [{ nope: 1 }] }],
        });
        assert.equal(bad.status, 400);
        assert.equal(bad.json.failed, true);
        assert.match(String(bad.json.message), /targets\/0\/parameters\/0: unknown parameter "nope"/);
        const observer = await client(s, 'observer')('POST', '/rest/action_run', {
          action: 'no op',
          targets: [{ app: 'Utility' }],
        });
        assert.equal(observer.status, 403);
        // time limit and retries: each of two attempts is stopped after 0.2 s
        const slow = await api('POST', '/rest/action_run', {
          action: 'no op',
          timeout: 0.2,
          max_attempts: 2,
          targets: [{ app: 'Utility', parameters: [{ sleep_ms: 60_000 }] }],
        });
        const slowDone = await eventually(async () => {
          const r = await api('GET', `/rest/action_run/${slow.json.action_run_id as number}`);
          return r.json.status === 'failed' || r.json.status === 'success' ? r.json : undefined;
        });
        assert.equal(slowDone.status, 'failed');
        assert.match(String(slowDone.message), /timed out after 200 ms/);
        const slowApp = (
          await api('GET', `/rest/app_run?_filter_action_run=${slow.json.action_run_id as number}`)
        ).json.data[0]!;
        assert.equal(slowApp.attempts, 2);

        // a result larger than the threshold goes to the vault
        const big = 'p'.repeat(300 * 1024);
        const large = await api('POST', '/rest/action_run', {
          action: 'no op',
          targets: [{ app: 'Utility', parameters: [{ value: big }] }],
        });
        await eventually(async () =>
          (await api('GET', `/rest/action_run/${large.json.action_run_id as number}`)).json.status ===
          'success'
            ? true
            : undefined,
        );
        const largeApp = (
          await api('GET', `/rest/app_run?_filter_action_run=${large.json.action_run_id as number}`)
        ).json.data[0]!;
        const res = (largeApp.result_data as Json[])[0]!;
        assert.deepEqual(res.data, []);
        assert.match(String(res.data_vault_id), /^[0-9a-f]{64}$/);
        assert.equal((res.summary as Json).data_in_vault, res.data_vault_id);
        const stored = JSON.parse(String(await getVault(s.ctx, String(res.data_vault_id)))) as Json[];
        assert.equal(stored[0]!.value, big);
      } finally {
        await s.close();
      }
    });

    it('lists playbooks, triggers the built-in one on a new container and reports the run', async () => {
      const s = await startTestServer({ makeStore });
      await startAutomation(s.ctx, { pollMs: 20 });
      const api = client(s);
      try {
        const pbs = await api('GET', '/rest/playbook?page_size=0');
        const pb = pbs.json.data.find((p) => p.name === 'network_exposure')!;
        assert.ok(pb);
        assert.equal(pb.active, true);
        assert.equal(pb.version, 1);
        assert.deepEqual(pb.labels, ['network_exposure']);

        // a listener that is already gone: the playbook closes the container as transient
        // (its re-scan may probe only inside the scan scopes)
        await api('POST', '/api/scopes', { cidr: '127.0.0.1/32' });
        const port = await closedPort();
        const c = await api('POST', '/rest/container', {
          name: `New listening port 127.0.0.1:${port}/tcp`,
          label: 'network_exposure',
          source_data_identifier: `svc:127.0.0.1:tcp:${port}`,
          artifacts: [
            {
              name: 'listener',
              label: 'service',
              cef: { destinationAddress: '127.0.0.1', destinationPort: port, transportProtocol: 'TCP' },
            },
          ],
        });
        const cid = c.json.id as number;
        const run = await eventually(async () => {
          const r = await api('GET', `/rest/playbook_run?_filter_container=${cid}`);
          const x = r.json.data[0];
          return x && x.status !== 'running' ? x : undefined;
        });
        assert.equal(run.status, 'success', String(run.message));
        assert.match(String(run.message), /transient/);
        assert.equal((await api('GET', `/rest/container/${cid}`)).json.status, 'closed');
        const detail = await api('GET', `/rest/playbook_run/${run.id as number}`);
        assert.deepEqual(
          (detail.json.steps as Json[]).map((x) => x.name),
          ['get', 'get', 'network_exposure_settings', 'confirm_listener', 'Transient listener', 'closed'],
        );

        // POST /rest/playbook_run by "local/name" answers with Splunk's spelling
        const again = await api('POST', '/rest/playbook_run', {
          container_id: cid,
          playbook_id: 'local/network_exposure',
          scope: 'all',
          run: true,
        });
        assert.equal(again.json.recieved, true);
        assert.equal(typeof again.json.playbook_run_id, 'number');
        const missing = await api('POST', '/rest/playbook_run', {
          container_id: cid,
          playbook_id: 'local/nope',
          scope: 'all',
          run: true,
        });
        assert.equal(missing.status, 404);

        // an artifact with run_automation runs the container's playbooks again; one without does not
        const before = Number((await api('GET', `/rest/playbook_run?_filter_container=${cid}`)).json.count);
        await api('POST', '/rest/artifact', { container_id: cid, name: 'quiet', cef: { note: 1 } });
        await api('POST', '/rest/artifact', {
          container_id: cid,
          name: 'again',
          cef: { note: 2 },
          run_automation: true,
        });
        await eventually(async () =>
          (await api('GET', `/rest/playbook_run?_filter_container=${cid}&_filter_trigger="artifact_added"`))
            .json.count === 1
            ? true
            : undefined,
        );
        assert.equal(
          (await api('GET', `/rest/playbook_run?_filter_container=${cid}`)).json.count,
          before + 1,
        );

        // deactivated playbooks are not triggered by new containers
        assert.equal((await api('POST', `/rest/playbook/${pb.id as number}`, { active: false })).status, 200);
        const c2 = await api('POST', '/rest/container', {
          name: 'x',
          label: 'network_exposure',
          artifacts: [],
        });
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(
          (await api('GET', `/rest/playbook_run?_filter_container=${c2.json.id as number}`)).json.count,
          0,
        );
      } finally {
        await s.close();
      }
    });

    it('keeps asset secrets write-only', async () => {
      const s = await startTestServer({ makeStore });
      const api = client(s);
      try {
        const created = await api('POST', '/rest/asset', {
          name: 'hooks',
          product_vendor: 'Portcullis',
          product_name: 'HTTP',
          configuration: {
            allowed_destinations: '127.0.0.1',
            base_url: 'http://127.0.0.1:1/',
            auth_token: 'tok-123-secret',
          },
          tags: ['notify'],
        });
        assert.equal(created.status, 200, JSON.stringify(created.json));
        const got = await api('GET', `/rest/asset/${created.json.id as number}`);
        assert.ok(!JSON.stringify(got.json).includes('tok-123-secret'));
        assert.deepEqual(got.json.secret_configuration, { auth_token: 'set' });
        const audit = await api('GET', '/rest/audit?_filter_object_type="asset"');
        assert.ok(Number(audit.json.count) >= 1, 'the change is audited');
        assert.ok(audit.json.data.every((e) => e.actor === 'admin-user'));
        assert.ok(
          !JSON.stringify(audit.json).includes('tok-123-secret'),
          'the audit names secrets, never their values',
        );
        const list = await api('GET', '/rest/asset?_filter_name="hooks"');
        assert.equal(list.json.count, 1);
        assert.equal(
          (await client(s, 'analyst')('POST', '/rest/asset', { name: 'n2', app: 'Utility' })).status,
          403,
        );
      } finally {
        await s.close();
      }
    });
  });
}
