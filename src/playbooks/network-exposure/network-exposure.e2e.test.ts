import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { reverseName, startTestDns } from '../../apps/dns/dns.testing.ts';
import { canUseNetns, listenIn, namespaceFromHost, reachable } from '../../apps/firewall/netns.testing.ts';
import { startAutomation } from '../../automation/index.ts';
import { eventually } from '../../automation/run.testing.ts';
import { getService, recordObservations } from '../../baseline/index.ts';
import { startTestServer, type TestServer } from '../../identity/test-server.ts';

type Json = Record<string, unknown>;

describe(
  'network_exposure playbook end to end in a network namespace',
  { skip: canUseNetns() ? false : 'needs root, iproute2, nftables and ncat' },
  () => {
    let net: ReturnType<typeof namespaceFromHost>;
    const listeners: ChildProcess[] = [];
    let hook: Server;
    let smtp: SMTPServer;
    let dns: Awaited<ReturnType<typeof startTestDns>>;
    let s: TestServer;
    const webhooks: Json[] = [];
    const mails: string[] = [];

    const api = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
      const res = await s.app.inject({
        method,
        url,
        headers: {
          'ph-auth-token': s.tokens.admin,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
      return JSON.parse(res.body) as Json & { data: Json[] };
    };

    before(async () => {
      net = namespaceFromHost(177);
      hook = createServer((req, res) => {
        let b = '';
        req.on('data', (d) => (b += d));
        req.on('end', () => {
          webhooks.push(JSON.parse(b) as Json);
          res.end('ok');
        });
      });
      await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
      smtp = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onData(stream, _s, cb) {
          let d = '';
          stream.on('data', (x) => (d += x));
          stream.on('end', () => (mails.push(d), cb()));
        },
      });
      await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
      dns = await startTestDns({ [reverseName(net.nsAddr)]: { ptr: ['db1.example.test'] } });
      s = await startTestServer();
      await startAutomation(s.ctx, { pollMs: 20, sweepMs: 100 });
      const asset = async (body: Json) => {
        const r = await api('POST', '/rest/asset', body);
        assert.equal(r.success, true, JSON.stringify(r));
      };
      // The re-scans may reach only the namespace this test made.
      await api('POST', '/api/scopes', { cidr: `${net.nsAddr}/32` });
      await asset({ name: 'dns', app: 'DNS', configuration: { server: dns.server } });
      await asset({
        name: 'hook',
        app: 'HTTP',
        configuration: {
          allowed_destinations: '127.0.0.1',
          base_url: `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`,
        },
        tags: ['notify'],
      });
      await asset({
        name: 'mail',
        app: 'SMTP',
        configuration: {
          server: '127.0.0.1',
          port: (smtp.server.address() as { port: number }).port,
          security: 'none',
          sender: 'pc@example.test',
          default_recipients: 'owner@example.test',
        },
        tags: ['notify'],
      });
      await asset({
        name: 'edge',
        app: 'nftables Firewall',
        configuration: { netns: net.ns, protected_networks: `${net.nsAddr}/32` },
      });
      // an earlier import makes the baseline non-empty, so the next new listener alerts
      await recordObservations(s.ctx, [
        {
          host: net.nsAddr,
          protocol: 'tcp',
          port: 22,
          source: 'nmap',
          grade: 'strong',
          reason: 'nmap open',
          seenAt: new Date(),
        },
      ]);
    });
    after(async () => {
      for (const l of listeners) l.kill();
      await s?.close();
      dns?.close();
      await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
      await new Promise<void>((r) => (hook ? hook.close(() => r()) : r()));
      net?.cleanup();
    });

    /** A new listener is ingested; returns its container id and pending approval once the playbook prompts. */
    async function newListener(port: number): Promise<{ cid: number; approval: Json }> {
      listeners.push(await listenIn(net.ns, net.nsAddr, port));
      const sum = await recordObservations(
        s.ctx,
        [
          {
            host: net.nsAddr,
            protocol: 'tcp',
            port,
            source: 'nmap',
            grade: 'strong',
            reason: 'nmap open',
            seenAt: new Date(),
          },
        ],
        { learning: false },
      );
      assert.equal(sum.containers, 1);
      const c = await api(
        'GET',
        `/rest/container?_filter_source_data_identifier="svc:${net.nsAddr}:tcp:${port}"`,
      );
      const cid = c.data[0]!.id as number;
      const approval = await eventually(
        async () =>
          (await api('GET', `/rest/approval?_filter_container=${cid}&_filter_status="pending"`)).data[0],
        30_000,
        'the prompt',
      );
      return { cid, approval };
    }

    async function finished(cid: number): Promise<Json> {
      return eventually(
        async () => {
          const r = (await api('GET', `/rest/playbook_run?_filter_container=${cid}`)).data[0];
          return r && r.status !== 'running' ? r : undefined;
        },
        30_000,
        'the run to end',
      );
    }

    it('confirms, enriches, notifies and prompts; "block" closes the port at the firewall and the container', async () => {
      const port = 9090;
      const { cid, approval } = await newListener(port);
      assert.match(
        String(approval.message),
        new RegExp(`${net.nsAddr.replace(/\./g, '\\.')}:${port}/tcp \\(db1\\.example\\.test\\)`),
      );
      assert.equal(approval.owner, 'admin');
      const w = webhooks.find((x) => (x.data as Json).port === port)!;
      assert.ok(w, 'the webhook receiver got the notification');
      assert.equal((w.data as Json).hostname, 'db1.example.test');
      assert.ok(
        mails.some((m) => m.includes(`${net.nsAddr}:${port}/tcp`)),
        'the SMTP server got the notification',
      );
      assert.equal(await reachable(null, net.nsAddr, port), true);

      const answered = await api('POST', `/rest/approval/${approval.id as number}`, {
        responses: ['block', '', ''],
      });
      assert.equal(answered.status, 'answered');
      const run = await finished(cid);
      assert.equal(run.status, 'success', String(run.message));
      assert.equal(run.message, 'blocked by admin-user');
      assert.equal(await reachable(null, net.nsAddr, port), false, 'unreachable after the block');
      assert.equal((await api('GET', `/rest/container/${cid}`)).status, 'closed');
      assert.equal(
        (await getService(s.ctx.db, { host: net.nsAddr, protocol: 'tcp', port }))?.state,
        'unapproved',
      );
    });

    it('"approve" records the justification, approver and expiry on the service', async () => {
      const port = 9091;
      const { cid, approval } = await newListener(port);
      await api('POST', `/rest/approval/${approval.id as number}`, {
        responses: ['approve', 'backup agent, ticket OPS-12', '2027-06-30'],
      });
      const run = await finished(cid);
      assert.equal(run.status, 'success', String(run.message));
      const svc = await getService(s.ctx.db, { host: net.nsAddr, protocol: 'tcp', port });
      assert.equal(svc?.state, 'approved');
      assert.equal(svc?.justification, 'backup agent, ticket OPS-12');
      assert.equal(svc?.approver, 'admin-user');
      assert.equal(svc?.expires_at?.toISOString().slice(0, 10), '2027-06-30');
      assert.equal(await reachable(null, net.nsAddr, port), true, 'an approved port stays open');
    });
  },
);
