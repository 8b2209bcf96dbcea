import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { runAppAction } from '../../automation/app.testing.ts';
import { syslogApp } from './syslog.app.ts';
import { FACILITIES, SEVERITIES, formatRfc5424, frameOctetCounted } from './syslog.format.ts';

// RFC 5424 section 6: HEADER SP STRUCTURED-DATA [SP MSG], written out independently of the formatter.
const RFC5424 =
  /^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)) ([\x21-\x7e]{1,255}) ([\x21-\x7e]{1,48}) ([\x21-\x7e]{1,128}) ([\x21-\x7e]{1,32}) (-|(?:\[[^\s=\]"]{1,32}(?: [^\s=\]"]{1,32}="(?:[^"\\\]]|\\["\\\]])*")*\])+)(?: ([\s\S]*))?$/;

describe('RFC 5424 formatting', () => {
  it('always yields a message the RFC grammar accepts, with PRI = facility*8 + severity', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FACILITIES),
        fc.constantFrom(...SEVERITIES),
        fc.string(),
        fc.string(),
        fc.string({ maxLength: 40 }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.string()),
        (facility, severity, message, host, msgId, params) => {
          const out = formatRfc5424({
            facility,
            severity,
            time: new Date(0),
            hostname: host,
            appName: 'pc',
            msgId,
            message,
            structuredData: { 'x@1': params },
          });
          const m = RFC5424.exec(out);
          assert.ok(m, out);
          assert.equal(Number(m[1]), FACILITIES.indexOf(facility) * 8 + SEVERITIES.indexOf(severity));
          const msg = m[8] ?? '';
          assert.equal(msg.replace(/^\ufeff/, ''), message);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('frames with the byte length (octet counting)', () => {
    assert.equal(frameOctetCounted('<13>1 - - - - - - é').toString(), '20 <13>1 - - - - - - é');
  });
});

describe('syslog app against local listeners', () => {
  let udp: UdpSocket;
  let tcp: Server;
  let udpPort = 0;
  let tcpPort = 0;
  const udpGot: string[] = [];
  const tcpGot: string[] = [];
  before(async () => {
    udp = createSocket('udp4');
    udp.on('message', (m) => udpGot.push(m.toString('utf8')));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    udpPort = udp.address().port;
    tcp = createServer((s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const sp = buf.indexOf(0x20);
          if (sp < 0) return;
          const len = Number(buf.subarray(0, sp).toString());
          if (buf.length < sp + 1 + len) return;
          tcpGot.push(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
          buf = buf.subarray(sp + 1 + len);
        }
      });
    });
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
    tcpPort = (tcp.address() as { port: number }).port;
  });
  after(async () => {
    udp.close();
    await new Promise<void>((r) => tcp.close(() => r()));
  });

  const until = async (arr: string[], n: number) => {
    for (let i = 0; i < 200 && arr.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  };

  it('sends over UDP', async () => {
    const r = await runAppAction(
      syslogApp,
      'send message',
      { message: 'port 9090 blocked', severity: 'warning', msgid: 'block' },
      { host: '127.0.0.1', port: udpPort, transport: 'udp', hostname: 'pc1' },
      { containerId: 42 },
    );
    assert.equal(r.status, 'success', r.message);
    await until(udpGot, 1);
    const m = RFC5424.exec(udpGot[0]!);
    assert.ok(m, udpGot[0]);
    assert.equal(Number(m[1]), 16 * 8 + 4, 'local0.warning');
    assert.equal(m[3], 'pc1');
    assert.equal(m[4], 'portcullis');
    assert.equal(m[6], 'block');
    assert.equal(m[7], '[portcullis@32473 container="42"]');
    assert.equal(m[8], 'port 9090 blocked');
  });

  it('sends over TCP with octet-counted frames', async () => {
    const r1 = await runAppAction(
      syslogApp,
      'test connectivity',
      {},
      { host: '127.0.0.1', port: tcpPort, transport: 'tcp', facility: 'auth' },
    );
    const r2 = await runAppAction(
      syslogApp,
      'send message',
      { message: 'zweite Nachricht — ünïcode' },
      { host: '127.0.0.1', port: tcpPort, transport: 'tcp', facility: 'auth' },
    );
    assert.equal(r1.status, 'success');
    assert.equal(r2.status, 'success');
    await until(tcpGot, 2);
    const m = RFC5424.exec(tcpGot[1]!);
    assert.ok(m, tcpGot[1]);
    assert.equal(Number(m[1]), 4 * 8 + 5, 'auth.notice');
    assert.equal(m[8], '\ufeffzweite Nachricht — ünïcode');
  });

  it('fails clearly when nothing listens on TCP', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', () => r()));
    const port = (dead.address() as { port: number }).port;
    await new Promise<void>((r) => dead.close(() => r()));
    await assert.rejects(
      runAppAction(
        syslogApp,
        'send message',
        { message: 'x' },
        { host: '127.0.0.1', port, transport: 'tcp' },
      ),
      /ECONNREFUSED/,
    );
  });
});
