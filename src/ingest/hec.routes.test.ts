import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { buildServer, loadTls } from '../api/index.ts';
import { listServices } from '../baseline/index.ts';
import { createToken, revokeToken } from '../identity/index.ts';
import { startTestServer, type TestServer } from '../identity/test-server.ts';

const HEC_BODY = readFileSync(new URL('stream/testdata/stream-tcp-hec.json', import.meta.url));
const NDJSON = readFileSync(new URL('stream/testdata/stream-tcp.ndjson', import.meta.url));

/** One Splunk Stream stream:tcp event where 198.18.5.5:8443 answered (tcp_status 0, ack_packets_out > 0). */
const streamEvent = (port = 8443) => ({
  src_ip: '198.18.5.1',
  src_port: 50_000,
  dest_ip: '198.18.5.5',
  dest_port: port,
  transport: 'tcp',
  tcp_status: 0,
  ack_packets_in: 3,
  ack_packets_out: 2,
  timestamp: new Date().toISOString(),
});

describe('HEC endpoint', () => {
  let srv: TestServer;
  let hecToken: string;
  before(async () => {
    srv = await startTestServer();
    const admin = await srv.store.db
      .selectFrom('users')
      .select('id')
      .where('username', '=', 'admin-user')
      .executeTakeFirstOrThrow();
    hecToken = (await createToken(srv.store.db, { userId: admin.id, name: 'stream forwarder', kind: 'hec' }))
      .token;
  });
  after(() => srv.close());

  const post = (url: string, payload: string | Buffer, headers: Record<string, string> = {}) =>
    srv.app.inject({
      method: 'POST',
      url,
      payload,
      headers: { authorization: `Splunk ${hecToken}`, ...headers },
    });

  it("answers HEC's codes for missing, malformed and invalid tokens", async () => {
    const none = await srv.app.inject({
      method: 'POST',
      url: '/services/collector/event',
      payload: HEC_BODY,
    });
    assert.equal(none.statusCode, 401);
    assert.deepEqual(none.json(), { text: 'Token is required', code: 2 });
    const malformed = await post('/services/collector/event', HEC_BODY, { authorization: 'Splunk' });
    assert.equal(malformed.statusCode, 401);
    assert.deepEqual(malformed.json(), { text: 'Invalid authorization', code: 3 });
    const bad = await post('/services/collector/event', HEC_BODY, { authorization: 'Splunk not-a-token' });
    assert.equal(bad.statusCode, 403);
    assert.deepEqual(bad.json(), { text: 'Invalid token', code: 4 });
    const observerApi = await post('/services/collector/event', HEC_BODY, {
      authorization: `Splunk ${srv.tokens.observer}`,
    });
    assert.equal(observerApi.statusCode, 403, 'an observer API token may not ingest');
    const q = await srv.app.inject({
      method: 'POST',
      url: `/services/collector/event?token=${hecToken}`,
      payload: HEC_BODY,
    });
    assert.deepEqual(q.json(), { text: 'Query string authorization is not enabled', code: 16 });
  });

  it('records concatenated stream:tcp envelopes and raises containers at once (no learning run)', async () => {
    const res = await post('/services/collector/event', HEC_BODY, { 'content-type': 'application/json' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { text: 'Success', code: 0 });
    const s = await listServices(srv.store.db, {
      limit: 0,
      offset: 0,
      sort: 'host',
      order: 'asc',
      source: 'stream',
    });
    assert.deepEqual(
      s.data.map((x) => `${x.host} ${x.protocol}/${x.port} ${x.evidence}`),
      ['198.51.100.80 tcp/25 strong', '198.51.100.81 tcp/1433 strong', '2001:db8:1::81 tcp/993 strong'],
    );
    const containers = await srv.app.inject({
      method: 'GET',
      url: '/rest/container?page_size=0',
      headers: { 'ph-auth-token': srv.tokens.admin },
    });
    const sdis = (containers.json() as { data: Array<{ source_data_identifier: string }> }).data
      .map((c) => c.source_data_identifier)
      .sort();
    assert.deepEqual(sdis, [
      'svc:198.51.100.80:tcp:25',
      'svc:198.51.100.81:tcp:1433',
      'svc:2001:db8:1::81:tcp:993',
    ]);
    // The same events again: success, and nothing new.
    const again = await post('/services/collector', HEC_BODY);
    assert.deepEqual(again.json(), { text: 'Success', code: 0 });
    const after = await srv.app.inject({
      method: 'GET',
      url: '/rest/container?page_size=0',
      headers: { 'ph-auth-token': srv.tokens.admin },
    });
    assert.equal((after.json() as { count: number }).count, 3);
  });

  it('names the invalid event like Splunk (invalid-event-number) and keeps the events before it', async () => {
    const good = JSON.stringify({ sourcetype: 'stream:tcp', event: streamEvent(7001) });
    const broken = await post(
      '/services/collector/event/1.0',
      `${good}\n{"sourcetype":"stream:tcp","event":{"dest_ip":`,
    );
    assert.equal(broken.statusCode, 400);
    assert.deepEqual(broken.json(), { text: 'Invalid data format', code: 6, 'invalid-event-number': 1 });
    const kept = await listServices(srv.store.db, {
      limit: 0,
      offset: 0,
      sort: 'host',
      order: 'asc',
      port: 7001,
    });
    assert.equal(kept.count, 1);
    const noEvent = await post(
      '/services/collector/event',
      `${good}${good}{"sourcetype":"stream:tcp","time":1}`,
    );
    assert.deepEqual(noEvent.json(), {
      text: 'Event field is required',
      code: 12,
      'invalid-event-number': 2,
    });
    const blank = await post('/services/collector/event', '{"event":""}');
    assert.deepEqual(blank.json(), {
      text: 'Event field cannot be blank',
      code: 13,
      'invalid-event-number': 0,
    });
    const empty = await post('/services/collector/event', '');
    assert.equal(empty.statusCode, 400);
    assert.deepEqual(empty.json(), { text: 'No data', code: 5 });
  });

  it('counts events of unknown sourcetypes without failing, and reads gzip bodies', async () => {
    const body = `{"sourcetype":"syslog","event":"hello"}${JSON.stringify({ sourcetype: 'stream:tcp', event: streamEvent(7002) })}`;
    const res = await post('/services/collector/event', gzipSync(body), { 'content-encoding': 'gzip' });
    assert.deepEqual(res.json(), { text: 'Success', code: 0 });
    const summary = JSON.parse(String(res.headers['x-portcullis-summary'])) as {
      ignored: number;
      observations: number;
    };
    assert.equal(summary.ignored, 1);
    assert.equal(summary.observations, 1);
  });

  it('reads raw lines on /services/collector/raw with ?sourcetype= and a channel', async () => {
    const res = await post(
      '/services/collector/raw?sourcetype=stream:tcp&channel=FE0ECFAD-13D5-401B-847D-77833BD77131',
      NDJSON,
    );
    assert.deepEqual(res.json(), { text: 'Success', code: 0 });
    const badChannel = await post('/services/collector/raw?sourcetype=stream:tcp', NDJSON, {
      'x-splunk-request-channel': 'nope',
    });
    assert.deepEqual(badChannel.json(), { text: 'Invalid data channel', code: 11 });
    const unknown = await post('/services/collector/raw', 'just some words\n');
    assert.equal(unknown.statusCode, 400);
    assert.equal(unknown.json().code, 6);
  });

  it('hands osquery:results events to the osquery parser, with the envelope host as reporting host', async () => {
    const columns = {
      address: '0.0.0.0',
      family: '2',
      fd: '3',
      net_namespace: '4026531840',
      path: '',
      pid: '812',
      port: '6379',
      protocol: '6',
      socket: '1',
    };
    const event = {
      name: 'pack_exposure_listening_ports',
      hostIdentifier: 'cache-01',
      unixTime: Math.floor(Date.now() / 1000),
      columns,
      action: 'added',
    };
    const res = await post(
      '/services/collector/event',
      JSON.stringify({ host: '198.18.6.6', sourcetype: 'osquery:results', event }),
    );
    assert.deepEqual(res.json(), { text: 'Success', code: 0 });
    const s = await listServices(srv.store.db, {
      limit: 0,
      offset: 0,
      sort: 'host',
      order: 'asc',
      port: 6379,
    });
    assert.deepEqual(
      s.data.map((x) => `${x.host} ${x.protocol}/${x.port} ${x.evidence} ${x.sources.join(',')}`),
      ['198.18.6.6 tcp/6379 strong osquery'],
    );
  });

  it('answers the health check', async () => {
    const res = await srv.app.inject({ method: 'GET', url: '/services/collector/health' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { text: 'HEC is healthy', code: 17 });
  });

  it('refuses a revoked HEC token', async () => {
    const admin = await srv.store.db
      .selectFrom('users')
      .select('id')
      .where('username', '=', 'admin-user')
      .executeTakeFirstOrThrow();
    const t = await createToken(srv.store.db, { userId: admin.id, name: 'old forwarder', kind: 'hec' });
    await revokeToken(srv.store.db, t.id);
    const res = await post('/services/collector/event', HEC_BODY, { authorization: `Splunk ${t.token}` });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().code, 4);
  });

  it("accepts events from Splunk's own HEC client (splunk-logging) over HTTPS", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-hec-'));
    const tls = await loadTls({ dataDir: dir });
    const https = await buildServer(srv.ctx, { https: { cert: tls.cert, key: tls.key } });
    try {
      await https.listen({ port: 0, host: '127.0.0.1' });
      const port = (https.server.address() as { port: number }).port;
      const require = createRequire(import.meta.url);
      const { Logger } = require('splunk-logging') as {
        Logger: new (c: Record<string, unknown>) => {
          requestOptions: Record<string, unknown>;
          eventFormatter: (m: unknown) => unknown;
          error: (e: Error) => void;
          send: (
            ctx: Record<string, unknown>,
            cb: (err: Error | null, resp: { statusCode: number }, body: unknown) => void,
          ) => void;
        };
      };
      const logger = new Logger({ token: hecToken, url: `https://127.0.0.1:${port}`, maxRetries: 0 });
      // The self-signed certificate of this test server; events are sent as they are, not wrapped.
      logger.requestOptions.strictSSL = false;
      logger.eventFormatter = (message) => message;
      logger.error = () => {};
      const { resp, body } = await new Promise<{ resp: { statusCode: number }; body: unknown }>(
        (resolve, reject) =>
          logger.send(
            {
              message: streamEvent(9443),
              metadata: { sourcetype: 'stream:tcp', host: 'tap-01', source: 'stream' },
            },
            (err, resp, body) => (err ? reject(err) : resolve({ resp, body })),
          ),
      );
      assert.equal(resp.statusCode, 200);
      assert.deepEqual(typeof body === 'string' ? JSON.parse(body) : body, { text: 'Success', code: 0 });
      const s = await listServices(srv.store.db, {
        limit: 0,
        offset: 0,
        sort: 'host',
        order: 'asc',
        port: 9443,
      });
      assert.deepEqual(
        s.data.map((x) => `${x.host} ${x.protocol}/${x.port} ${x.evidence} ${x.sources.join(',')}`),
        ['198.18.5.5 tcp/9443 strong stream'],
      );
    } finally {
      await https.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
