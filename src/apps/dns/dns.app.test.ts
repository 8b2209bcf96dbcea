import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { runAppAction } from '../../automation/app.testing.ts';
import { dnsApp } from './dns.app.ts';

// A tiny authoritative DNS responder (RFC 1035 wire format) for a test zone.
const ZONE: Record<string, Array<{ type: number; data: Buffer }>> = {};
const name = (n: string) => Buffer.concat([...n.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
ZONE['svc.example.test|1'] = [{ type: 1, data: Buffer.from([198, 18, 0, 2]) }, { type: 1, data: Buffer.from([198, 18, 0, 3]) }];
ZONE['svc.example.test|28'] = [{ type: 28, data: Buffer.from('fd000000000000000000000000000002', 'hex') }];
ZONE['2.0.18.198.in-addr.arpa|12'] = [{ type: 12, data: name('svc.example.test') }];
ZONE['|2'] = [{ type: 2, data: name('ns.example.test') }];

function answer(q: Buffer): Buffer {
  let off = 12;
  const labels: string[] = [];
  while (q[off]! > 0) {
    labels.push(q.subarray(off + 1, off + 1 + q[off]!).toString());
    off += q[off]! + 1;
  }
  off += 1;
  const qtype = q.readUInt16BE(off);
  const question = q.subarray(12, off + 4);
  const key = `${labels.join('.').toLowerCase()}|${qtype}`;
  const rrs = ZONE[key] ?? [];
  const known = Object.keys(ZONE).some((k) => k.startsWith(`${labels.join('.').toLowerCase()}|`));
  const header = Buffer.alloc(12);
  q.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8400 | 0x0100 | (known ? 0 : 3), 2); // QR AA RD, NXDOMAIN when unknown
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(rrs.length, 6);
  const ans = rrs.map((rr) => {
    const b = Buffer.alloc(12);
    b.writeUInt16BE(0xc00c, 0);
    b.writeUInt16BE(rr.type, 2);
    b.writeUInt16BE(1, 4);
    b.writeUInt32BE(60, 6);
    b.writeUInt16BE(rr.data.length, 10);
    return Buffer.concat([b, rr.data]);
  });
  return Buffer.concat([header, question, ...ans]);
}

describe('DNS app against a local DNS server', () => {
  let sock: Socket;
  let server = '';
  before(async () => {
    sock = createSocket('udp4');
    sock.on('message', (m, r) => sock.send(answer(m), r.port, r.address));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    server = `127.0.0.1:${sock.address().port}`;
  });
  after(() => sock.close());

  it('resolves forward (A and AAAA)', async () => {
    const a = await runAppAction(dnsApp, 'lookup domain', { domain: 'svc.example.test' }, { server });
    assert.equal(a.status, 'success', a.message);
    assert.deepEqual(a.data!.map((d) => (d as { address: string }).address).sort(), ['198.18.0.2', '198.18.0.3']);
    const aaaa = await runAppAction(dnsApp, 'lookup domain', { domain: 'svc.example.test', type: 'AAAA' }, { server });
    assert.deepEqual(aaaa.data, [{ address: 'fd00::2', type: 'AAAA' }]);
  });

  it('resolves reverse, and reports a missing name as no record', async () => {
    const r = await runAppAction(dnsApp, 'reverse lookup', { ip: '198.18.0.2' }, { server });
    assert.equal(r.status, 'success', r.message);
    assert.equal(r.summary!.hostname, 'svc.example.test');
    const none = await runAppAction(dnsApp, 'reverse lookup', { ip: '198.18.0.9' }, { server });
    assert.equal(none.status, 'success');
    assert.equal(none.summary!.hostname, null);
    const bad = await runAppAction(dnsApp, 'reverse lookup', { ip: 'not-an-ip' }, { server });
    assert.equal(bad.status, 'failed');
  });

  it('tests connectivity with an NS query for the root', async () => {
    const r = await runAppAction(dnsApp, 'test connectivity', {}, { server });
    assert.equal(r.status, 'success', r.message);
  });
});
