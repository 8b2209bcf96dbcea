import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { runCli, startServerProcess } from '../../testing/server.ts';
import { HOST_B_TCP_V4, HOST_B_TCP_V6 } from '../common/host-b.testing.ts';
import { freeUdpPort, hasTool, runSoftflowd } from './exporters.testing.ts';
import { captureData, netflowData } from './netflow.testing.ts';

const HOST_B: string[] = [...HOST_B_TCP_V4, ...HOST_B_TCP_V6].sort();

interface ServiceRow {
  host: string;
  protocol: string;
  port: number;
  evidence: string;
  sources: string[];
}

const tools = await hasTool('softflowd');

describe('portcullis serve with its flow collector', { skip: !tools && 'softflowd not installed' }, () => {
  it("real softflowd exports (v9 and IPFIX) of the real-tools capture show host B's listeners", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'pcnf-e2e-'));
    const pcap = join(dir, 'session.pcap');
    await writeFile(pcap, gunzipSync(await readFile(captureData('session.pcap.gz'))));
    const netflowPort = await freeUdpPort();
    const ipfixPort = await freeUdpPort();
    const srv = await startServerProcess({
      env: {
        PORTCULLIS_NETFLOW_PORT: String(netflowPort),
        PORTCULLIS_IPFIX_PORT: String(ipfixPort),
        PORTCULLIS_NETFLOW_HOST: '127.0.0.1',
        PORTCULLIS_NETFLOW_EXPORTERS: '127.0.0.1',
      },
    });
    try {
      for (let i = 0; i < 100 && !srv.output().includes('flow collector listening'); i++)
        await new Promise((r) => setTimeout(r, 100));
      assert.match(srv.output(), /flow collector listening/);
      const v9 = await runSoftflowd(pcap, 9, netflowPort);
      const v10 = await runSoftflowd(pcap, 10, ipfixPort);

      const keysNow = async () => {
        const res = await srv.api<{ count: number; data: ServiceRow[] }>(
          'GET',
          '/api/services?source=netflow&limit=0',
        );
        assert.equal(res.status, 200);
        return res.body.data;
      };
      let rows: ServiceRow[] = [];
      // The collector writes every 2 s; give it time to take a whole capture's flows.
      for (let i = 0; i < 60; i++) {
        rows = await keysNow();
        if (rows.length >= HOST_B.length) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      await new Promise((r) => setTimeout(r, 2500));
      rows = await keysNow();
      const keys = rows.map((r) => `${r.host} ${r.protocol}/${r.port}`).sort();
      for (const r of rows) {
        assert.equal(r.evidence, 'strong', `${r.host} ${r.protocol}/${r.port}`);
        assert.ok(r.sources.includes('netflow'));
      }
      for (const k of keys) assert.ok(HOST_B.includes(k), `${k} is not a listener of host B`);

      // The same capture as a NetFlow file through `portcullis ingest` (gzip and format detected).
      const env = { PORTCULLIS_URL: srv.url, PORTCULLIS_TOKEN: srv.token, PORTCULLIS_DATA_DIR: srv.dataDir };
      const ingest = await runCli(['ingest', netflowData('netflow-v10.bin.gz'), '--json'], env);
      assert.equal(ingest.code, 0, ingest.stderr);
      const summary = JSON.parse(ingest.stdout) as unknown;
      const one = (Array.isArray(summary) ? summary[0] : summary) as { format: string; issues_total: number };
      assert.equal(one.format, 'netflow');
      assert.equal(one.issues_total, 0);

      const code = await srv.stop();
      assert.equal(code, 0);
      const stopped = /"datagrams":(\d+)/.exec(
        srv.output().split('flow collector stopped')[0]!.split('\n').at(-1) ?? '',
      );
      assert.ok(stopped, 'the collector logs its counters when it stops');
      const received = Number(stopped[1]);
      if (received < v9.sent + v10.sent) {
        // The kernel dropped datagrams (receive buffer capped by net.core.rmem_max): a lost flow may
        // hide a listener, so only "nothing invented" holds.
        t.diagnostic(`${v9.sent + v10.sent - received} datagrams dropped by the kernel`);
        return;
      }
      assert.deepEqual(keys, HOST_B);
    } finally {
      await srv.kill();
      srv.cleanup();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
