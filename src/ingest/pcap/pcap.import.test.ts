import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { startTestServer, type TestServer } from '../../identity/test-server.ts';
import { runCli, startServerProcess, type ServerProcess } from '../../testing/server.ts';
import { HOST_B_TCP_V4, HOST_B_TCP_V6 } from '../common/host-b.testing.ts';
import { detectFormat } from '../detect.ts';
import { classicPcap, PcapngWriter } from './capture.testing.ts';

const path = (name: string) => new URL(`testdata/${name}`, import.meta.url).pathname;
const SESSION_GZ = readFileSync(path('session.pcap.gz'));
const SESSION = gunzipSync(SESSION_GZ);
const ZEEK = readFileSync(path('var-services-std-ports.pcap'));
const HOST_B = [...HOST_B_TCP_V4, ...HOST_B_TCP_V6].sort();

interface ServiceRow {
  host: string;
  protocol: string;
  port: number;
  evidence: string;
  sources: string[];
}

const strongKeys = (rows: ServiceRow[]) =>
  rows
    .filter((r) => r.evidence === 'strong')
    .map((r) => `${r.host} ${r.protocol}/${r.port}`)
    .sort();

describe('packet capture detection', () => {
  it('detects pcapng and every classic pcap magic from the first bytes', () => {
    assert.equal(detectFormat(SESSION.subarray(0, 8192)), 'pcap');
    assert.equal(detectFormat(ZEEK.subarray(0, 8192)), 'pcap');
    for (const littleEndian of [true, false]) {
      for (const nano of [true, false])
        assert.equal(detectFormat(classicPcap([], { linkType: 1, littleEndian, nano })), 'pcap');
      assert.equal(detectFormat(classicPcap([], { linkType: 1, littleEndian, kuznetzov: true })), 'pcap');
      assert.equal(detectFormat(new PcapngWriter(littleEndian).shb()), 'pcap');
    }
    // pcapng's magic as text is "\n\r\r\n": without the byte-order magic after it, or as a string, it is text.
    assert.notEqual(detectFormat('\n\r\r\n\x1c\x00\x00\x00\x4d\x3c\x2b\x1a'), 'pcap');
    assert.notEqual(detectFormat(Buffer.from('\n\r\r\n# no byte-order magic here')), 'pcap');
  });
});

describe('POST /api/imports with packet captures', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.close());
  const auth = () => ({ 'ph-auth-token': srv.tokens.admin });

  it('takes the gzip capture as a raw body and the plain capture as a multipart upload, bytes intact', async () => {
    const raw = await srv.app.inject({
      method: 'POST',
      url: '/api/imports?filename=session.pcap.gz',
      payload: SESSION_GZ,
      headers: { ...auth(), 'content-type': 'application/octet-stream' },
    });
    assert.equal(raw.statusCode, 200, raw.body);
    const s1 = raw.json();
    assert.equal(s1.format, 'pcap');
    assert.equal(s1.records, 131520);
    assert.equal(s1.issues_total, 0, JSON.stringify(s1.issues));
    assert.equal(s1.new_services, HOST_B.length);

    const boundary = '----pcap-boundary';
    const payload = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="var-services-std-ports.pcap"\r\ncontent-type: application/vnd.tcpdump.pcap\r\n\r\n`,
      ),
      ZEEK,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const mp = await srv.app.inject({
      method: 'POST',
      url: '/api/imports',
      payload,
      headers: { ...auth(), 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    assert.equal(mp.statusCode, 200, mp.body);
    const s2 = mp.json();
    assert.equal(s2.format, 'pcap');
    assert.equal(s2.records, 263);
    assert.equal(s2.issues_total, 0, JSON.stringify(s2.issues));

    const res = await srv.app.inject({
      method: 'GET',
      url: '/api/services?source=pcap&limit=1000',
      headers: auth(),
    });
    assert.equal(res.statusCode, 200, res.body);
    const rows = (res.json() as { data: ServiceRow[] }).data;
    assert.deepEqual(
      strongKeys(rows),
      [
        ...HOST_B,
        '141.142.192.39 tcp/22',
        '172.16.238.131 tcp/21',
        '172.16.238.131 tcp/22',
        '172.16.238.131 tcp/80',
        '74.125.225.81 tcp/80',
      ].sort(),
    );
    // UDP replies are recorded as weak evidence, never as listeners.
    assert.deepEqual(
      rows
        .filter((r) => r.evidence === 'weak')
        .map((r) => `${r.host} ${r.protocol}/${r.port}`)
        .sort(),
      ['172.16.238.2 udp/53', '69.50.219.51 udp/123'],
    );
  });

  it('reports a damaged capture by byte offset and keeps what came before', async () => {
    const cut = SESSION.subarray(0, 2_000_001);
    const res = await srv.app.inject({
      method: 'POST',
      url: '/api/imports?filename=cut.pcapng',
      payload: cut,
      headers: { ...auth(), 'content-type': 'application/octet-stream' },
    });
    assert.equal(res.statusCode, 200, res.body);
    const s = res.json() as {
      format: string;
      records: number;
      issues: Array<{ message: string; offset: number; file: string }>;
    };
    assert.equal(s.format, 'pcap');
    assert.ok(s.records > 1000);
    assert.equal(s.issues.length, 1);
    assert.match(s.issues[0]!.message, /truncated/);
    assert.ok(s.issues[0]!.offset < 2_000_001 && s.issues[0]!.offset > 1_990_000);
    assert.equal(s.issues[0]!.file, 'cut.pcapng');
  });
});

describe('portcullis ingest with a packet capture', () => {
  let srv: ServerProcess;
  before(async () => {
    srv = await startServerProcess();
  });
  after(async () => {
    await srv.stop();
    srv.cleanup();
  });

  it('imports session.pcap.gz from the command line: host B’s listeners, nothing on A', async () => {
    const env = { PORTCULLIS_URL: srv.url, PORTCULLIS_TOKEN: srv.token, PORTCULLIS_DATA_DIR: srv.dataDir };
    const r = await runCli(['ingest', path('session.pcap.gz'), '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { format: string } | Array<{ format: string }>;
    const summary = Array.isArray(out) ? out[0]! : out;
    assert.equal(summary.format, 'pcap');
    const svc = await runCli(['services', '--source', 'pcap', '--json'], env);
    assert.equal(svc.code, 0, svc.stderr);
    const rows = (JSON.parse(svc.stdout) as { data: ServiceRow[] }).data;
    assert.deepEqual(strongKeys(rows), HOST_B);
    assert.ok(rows.every((row) => !['198.18.0.1', 'fd00:198:18::1'].includes(row.host)));
  });
});
