import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { reverseName, startTestDns } from '../../apps/dns/dns.testing.ts';
import { canUseNetns, namespaceFromHost } from '../../apps/firewall/netns.testing.ts';
import { eventually } from '../../automation/run.testing.ts';

const BIN = fileURLToPath(new URL('../../../bin/portcullis.js', import.meta.url));
type Json = Record<string, unknown>;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

describe(
  'killing the server during 100 running playbooks',
  { skip: canUseNetns() ? false : 'needs root, iproute2, nftables and ncat' },
  () => {
    it('leaves none of them running without progress after a restart', { timeout: 600_000 }, async () => {
      const net = namespaceFromHost(179);
      const dns = await startTestDns({ [reverseName(net.nsAddr)]: { ptr: ['slow.example.test'] } });
      const dir = mkdtempSync(join(tmpdir(), 'pc-restart-'));
      const port = await freePort();
      const agent = new Agent({ connect: { rejectUnauthorized: false } });
      let server: ChildProcess | undefined;
      const start = async () => {
        server = spawn(process.execPath, [BIN, 'serve'], {
          env: {
            ...process.env,
            PORTCULLIS_DATA_DIR: dir,
            PORTCULLIS_PORT: String(port),
            PORTCULLIS_HOST: '127.0.0.1',
            PORTCULLIS_LOG_LEVEL: 'warn',
            PORTCULLIS_AUTOMATION_CONCURRENCY: '200',
          },
          stdio: 'ignore',
          detached: true,
        });
        await eventually(
          async () => {
            try {
              const r = await request(`https://127.0.0.1:${port}/health`, { dispatcher: agent });
              await r.body.text();
              return r.statusCode === 200 ? true : undefined;
            } catch {
              return undefined;
            }
          },
          120_000,
          'the server to start',
        );
      };
      const api = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
        const r = await request(`https://127.0.0.1:${port}${path}`, {
          method,
          dispatcher: agent,
          headers: {
            'ph-auth-token': readFileSync(join(dir, 'admin-token'), 'utf8').trim(),
            'content-type': 'application/json',
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        return (await r.body.json()) as Json & { data: Json[]; count: number };
      };
      try {
        // the listener's port drops every packet: the playbook's confirming re-scan hangs there
        const drop = spawnSync('ip', ['netns', 'exec', net.ns, 'nft', '-f', '-'], {
          input:
            'add table inet pctest\nadd chain inet pctest input { type filter hook input priority 0; policy accept; }\nadd rule inet pctest input tcp dport 7000 drop\n',
        });
        assert.equal(drop.status, 0, String(drop.stderr));
        await start();
        // The re-scans may reach only the namespace this test made.
        await api('POST', '/api/scopes', { cidr: `${net.nsAddr}/32` });
        assert.equal(
          (
            await api('POST', '/rest/asset', {
              name: 'slowscan',
              app: 'Port Check',
              configuration: { timeout_ms: 600_000 },
            })
          ).success,
          true,
        );
        assert.equal(
          (
            await api('POST', '/rest/asset', {
              name: 'dns',
              app: 'DNS',
              configuration: { server: dns.server },
            })
          ).success,
          true,
        );
        for (let i = 0; i < 100; i++) {
          const r = await api('POST', '/rest/container', {
            name: `listener ${i}`,
            label: 'network_exposure',
            source_data_identifier: `restart-${i}`,
            artifacts: [
              {
                name: 'listener',
                cef: { destinationAddress: net.nsAddr, destinationPort: 7000, transportProtocol: 'TCP' },
              },
            ],
          });
          assert.equal(r.success, true);
        }
        await eventually(
          async () =>
            (await api('GET', '/rest/action_run?_filter_status="running"&page_size=1')).count === 100
              ? true
              : undefined,
          240_000,
          '100 running re-scans',
        );
        assert.equal(
          (await api('GET', '/rest/playbook_run?_filter_status="running"&page_size=1')).count,
          100,
        );

        process.kill(-server!.pid!, 'SIGKILL');
        await new Promise((r) => server!.once('close', r));
        // meanwhile the listener went away: its port now refuses connections
        spawnSync('ip', ['netns', 'exec', net.ns, 'nft', 'delete', 'table', 'inet', 'pctest']);
        await start();

        const runs = await eventually(
          async () => {
            const r = await api('GET', '/rest/playbook_run?page_size=0');
            return r.data.every((x) => x.status !== 'running') ? r.data : undefined;
          },
          180_000,
          'every run to end after the restart',
        );
        assert.equal(runs.length, 100);
        for (const r of runs) {
          assert.equal(r.status, 'success', String(r.message));
          assert.match(String(r.message), /^transient:/);
          assert.equal(r.attempts, 2);
        }
        const interrupted = await api('GET', '/rest/action_run?_filter_status="failed"&page_size=0');
        assert.equal(interrupted.count, 100);
        assert.ok(interrupted.data.every((a) => /interrupted by a restart/.test(String(a.message))));
      } finally {
        if (server?.pid) {
          try {
            process.kill(-server.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        dns.close();
        net.cleanup();
        await agent.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
