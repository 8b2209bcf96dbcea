import { createSocket, type Socket } from 'node:dgram';

/** A resource record of the test zone: RR type number and its wire-format data. */
export interface TestRecord {
  type: number;
  data: Buffer;
}

/** A name in DNS wire format (uncompressed). */
export const wireName = (n: string) =>
  Buffer.concat([
    ...n
      .split('.')
      .filter(Boolean)
      .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);

/** Records for a name: `a`/`aaaa` addresses, `ptr` names, `ns` names. */
export interface TestZoneEntry {
  a?: string[];
  aaaa?: string[];
  ptr?: string[];
  ns?: string[];
}

function v6bytes(addr: string): Buffer {
  const [head, tail = ''] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.from(groups.map((g) => g.padStart(4, '0')).join(''), 'hex');
}

/** The reverse-lookup name of an IPv4 address (`2.0.18.198.in-addr.arpa`). */
export const reverseName = (ip: string) => `${ip.split('.').reverse().join('.')}.in-addr.arpa`;

/**
 * A tiny authoritative DNS responder (RFC 1035 wire format, UDP) on 127.0.0.1 for a test zone;
 * unknown names get NXDOMAIN. Returns `address:port` for `Resolver.setServers` and a close function.
 */
export async function startTestDns(
  zone: Record<string, TestZoneEntry>,
): Promise<{ server: string; queries: string[]; close(): void }> {
  const records = new Map<string, TestRecord[]>();
  for (const [name, e] of Object.entries(zone)) {
    const n = name.toLowerCase().replace(/\.$/, '');
    const add = (type: number, data: Buffer) =>
      records.set(`${n}|${type}`, [...(records.get(`${n}|${type}`) ?? []), { type, data }]);
    for (const a of e.a ?? []) add(1, Buffer.from(a.split('.').map(Number)));
    for (const a of e.aaaa ?? []) add(28, v6bytes(a));
    for (const p of e.ptr ?? []) add(12, wireName(p));
    for (const p of e.ns ?? []) add(2, wireName(p));
  }
  const names = new Set(Object.keys(zone).map((n) => n.toLowerCase().replace(/\.$/, '')));
  const queries: string[] = [];
  const answer = (q: Buffer): Buffer => {
    let off = 12;
    const labels: string[] = [];
    while (q[off]! > 0) {
      labels.push(q.subarray(off + 1, off + 1 + q[off]!).toString());
      off += q[off]! + 1;
    }
    off += 1;
    const qtype = q.readUInt16BE(off);
    const question = q.subarray(12, off + 4);
    const qname = labels.join('.').toLowerCase();
    queries.push(`${qname}|${qtype}`);
    const rrs = records.get(`${qname}|${qtype}`) ?? [];
    const header = Buffer.alloc(12);
    q.copy(header, 0, 0, 2);
    header.writeUInt16BE(0x8400 | 0x0100 | (names.has(qname) ? 0 : 3), 2); // QR AA RD; NXDOMAIN when unknown
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
  };
  const sock: Socket = createSocket('udp4');
  sock.on('message', (m, r) => {
    try {
      sock.send(answer(m), r.port, r.address);
    } catch {
      // a malformed query gets no answer
    }
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { server: `127.0.0.1:${sock.address().port}`, queries, close: () => sock.close() };
}
