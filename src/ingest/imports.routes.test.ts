import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../identity/test-server.ts';

const file = (p: string) => readFileSync(new URL(p, import.meta.url));
const NMAP = file('nmap/testdata/nmap-sT-sV.xml');
const NMAP6 = file('nmap/testdata/nmap-ipv6.xml');
const STREAM = file('stream/testdata/stream-tcp.ndjson');
const BADLINES = file('stream/testdata/stream-tcp-badline.ndjson');

function multipart(
  fields: Record<string, string>,
  filename: string,
  content: Buffer,
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----portcullis-test-boundary';
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields))
    parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  parts.push(
    Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${filename}"\r\ncontent-type: application/octet-stream\r\n\r\n`,
    ),
  );
  parts.push(content, Buffer.from(`\r\n--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(parts),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

describe('POST /api/imports and the services API', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv.close());
  const auth = () => ({ 'ph-auth-token': srv.tokens.admin });

  it('needs a token', async () => {
    const res = await srv.app.inject({ method: 'POST', url: '/api/imports', payload: NMAP });
    assert.equal(res.statusCode, 401);
  });

  it('imports a raw body (learning run into the empty baseline), then a multipart upload that alerts', async () => {
    const first = await srv.app.inject({
      method: 'POST',
      url: '/api/imports?filename=nmap-sT-sV.xml',
      payload: NMAP,
      headers: { ...auth(), 'content-type': 'application/xml' },
    });
    assert.equal(first.statusCode, 200, first.body);
    const s1 = first.json();
    assert.equal(s1.format, 'nmap-xml');
    assert.equal(s1.learning, true);
    assert.equal(s1.new_services, 4);
    assert.equal(s1.containers, 0);
    assert.equal(s1.file, 'nmap-sT-sV.xml');

    const mp = multipart({ format: 'nmap-xml' }, 'nmap-ipv6.xml', NMAP6);
    const second = await srv.app.inject({
      method: 'POST',
      url: '/api/imports',
      payload: mp.payload,
      headers: { ...auth(), ...mp.headers },
    });
    assert.equal(second.statusCode, 200, second.body);
    const s2 = second.json();
    assert.equal(s2.file, 'nmap-ipv6.xml');
    assert.equal(s2.learning, false);
    assert.equal(s2.new_services, 1);
    assert.equal(s2.containers, 1);

    const list = await srv.app.inject({ method: 'GET', url: '/api/imports', headers: auth() });
    const imports = list.json() as {
      count: number;
      data: Array<{ file: string; status: string; summary: { new_services: number } }>;
    };
    assert.equal(imports.count, 2);
    assert.deepEqual(
      imports.data.map((i) => [i.file, i.status, i.summary.new_services]),
      [
        ['nmap-ipv6.xml', 'done', 1],
        ['nmap-sT-sV.xml', 'done', 4],
      ],
    );
  });

  it('reports bad lines with their locations and keeps the good records', async () => {
    const res = await srv.app.inject({
      method: 'POST',
      url: '/api/imports?filename=bad.ndjson',
      payload: BADLINES,
      headers: auth(),
    });
    assert.equal(res.statusCode, 200);
    const s = res.json() as {
      records: number;
      observations: number;
      issues_total: number;
      issues: Array<{ line: number; file: string }>;
    };
    assert.equal(s.records, 4);
    assert.equal(s.observations, 2);
    assert.ok(s.issues_total >= 2);
    assert.deepEqual([...new Set(s.issues.map((i) => i.line))].sort(), [2, 3]);
    assert.ok(s.issues.every((i) => i.file === 'bad.ndjson'));
  });

  it('refuses an unknown format, a bad format name and an empty body with 400', async () => {
    const unknown = await srv.app.inject({
      method: 'POST',
      url: '/api/imports?filename=notes.txt',
      payload: 'dear diary\n',
      headers: auth(),
    });
    assert.equal(unknown.statusCode, 400);
    assert.equal(unknown.json().code, 'unknown_format');
    assert.match(unknown.json().message, /notes\.txt.*--format/);
    const badName = await srv.app.inject({
      method: 'POST',
      url: '/api/imports?format=evtx',
      payload: STREAM,
      headers: auth(),
    });
    assert.equal(badName.statusCode, 400);
    assert.match(badName.json().message, /format "evtx"/);
    const empty = await srv.app.inject({
      method: 'POST',
      url: '/api/imports',
      payload: '',
      headers: { ...auth(), 'content-type': 'application/octet-stream' },
    });
    assert.equal(empty.statusCode, 400);
    const failed = (await srv.app.inject({ method: 'GET', url: '/api/imports', headers: auth() })).json() as {
      data: Array<{ status: string; error: string | null }>;
    };
    assert.ok(failed.data.some((i) => i.status === 'failed' && /cannot tell the format/.test(i.error ?? '')));
  });

  it('answers the two questions of the blog: ports on a host seen in the last 24 h, and hosts listening on a port', async () => {
    // Stream events dated now, so "the last 24 h" holds them.
    const now = Date.now();
    const ev = (host: string, port: number, ageH: number) =>
      JSON.stringify({
        dest_ip: host,
        dest_port: port,
        src_ip: '198.18.9.1',
        src_port: 40_000,
        tcp_status: 0,
        ack_packets_out: 1,
        ack_packets_in: 1,
        timestamp: new Date(now - ageH * 3_600_000).toISOString(),
      });
    const body = [
      ev('198.18.7.7', 22, 1),
      ev('198.18.7.7', 443, 2),
      ev('198.18.7.7', 8080, 48),
      ev('198.18.7.8', 22, 3),
    ].join('\n');
    const res = await srv.app.inject({
      method: 'POST',
      url: '/api/imports?format=stream',
      payload: body,
      headers: auth(),
    });
    assert.equal(res.statusCode, 200, res.body);
    const recent = await srv.app.inject({
      method: 'GET',
      url: '/api/services?host=198.18.7.7&seen_since=-24h',
      headers: auth(),
    });
    const r = recent.json() as {
      count: number;
      data: Array<{
        host: string;
        port: number;
        protocol: string;
        state: string;
        evidence: string;
        first_seen: string;
        last_seen: string;
        sources: string[];
      }>;
    };
    assert.deepEqual(
      r.data.map((s) => s.port),
      [22, 443],
    );
    assert.equal(r.count, 2);
    for (const k of [
      'host',
      'protocol',
      'port',
      'state',
      'evidence',
      'first_seen',
      'last_seen',
      'sources',
    ] as const)
      assert.ok(k in r.data[0]!, k);
    const on22 = await srv.app.inject({ method: 'GET', url: '/api/services?port=22', headers: auth() });
    assert.deepEqual(
      (on22.json() as { data: Array<{ host: string }> }).data.map((s) => s.host),
      ['198.18.7.7', '198.18.7.8'],
    );
    const cidr = await srv.app.inject({
      method: 'GET',
      url: '/api/services?host=198.18.7.0/24&page=1&page_size=2',
      headers: auth(),
    });
    const c = cidr.json() as { count: number; data: Array<{ port: number }> };
    assert.equal(c.count, 4);
    assert.deepEqual(
      c.data.map((s) => s.port),
      [8080, 22],
    );
    const bad = await srv.app.inject({
      method: 'GET',
      url: '/api/services?host=300.1.1.1/8',
      headers: auth(),
    });
    assert.equal(bad.statusCode, 400);
    const badSince = await srv.app.inject({
      method: 'GET',
      url: '/api/services?seen_since=yesterday',
      headers: auth(),
    });
    assert.equal(badSince.statusCode, 400);
    assert.match(badSince.json().message, /seen_since/);
  });

  it('lists changes since a time and lets an analyst approve a service', async () => {
    const changes = await srv.app.inject({
      method: 'GET',
      url: '/api/services/changes?since=2000-01-01',
      headers: auth(),
    });
    const ch = changes.json() as {
      count: number;
      data: Array<{ change: string; host: string; port: number }>;
    };
    assert.ok(ch.data.some((c) => c.change === 'opened' && c.host === 'fd00:198:18::2' && c.port === 11211));
    const svc = (
      await srv.app.inject({ method: 'GET', url: '/api/services?host=fd00:198:18::2', headers: auth() })
    ).json() as { data: Array<{ id: number }> };
    const id = svc.data[0]!.id;
    const denied = await srv.app.inject({
      method: 'POST',
      url: `/api/services/${id}/state`,
      payload: { state: 'approved', justification: 'cache' },
      headers: { 'ph-auth-token': srv.tokens.observer },
    });
    assert.equal(denied.statusCode, 403);
    const ok = await srv.app.inject({
      method: 'POST',
      url: `/api/services/${id}/state`,
      payload: { state: 'approved', justification: 'memcached for the web tier' },
      headers: { 'ph-auth-token': srv.tokens.analyst },
    });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().state, 'approved');
    assert.equal(ok.json().approver, 'analyst-user');
    const after = await srv.app.inject({
      method: 'GET',
      url: '/api/services/changes?since=2000-01-01&change=approved',
      headers: auth(),
    });
    assert.equal((after.json() as { count: number }).count, 1);
  });
});
