import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Observation } from '../observation.ts';
import { judgeConnection, ListenerInference, portRangeGuess } from './listener.inference.ts';
import type { FlowRecord } from './netflow.decoder.ts';

// TCP flag bits (RFC 9293): FIN 1, SYN 2, RST 4, PSH 8, ACK 16.
const S = 0x02;
const A = 0x10;
const R = 0x04;
const P = 0x08;
const F = 0x01;

function flow(
  src: [string, number],
  dst: [string, number],
  flags: number,
  packets: number,
  start: number | null = 1000,
  protocol = 6,
): FlowRecord {
  return {
    version: 9,
    srcAddr: src[0],
    srcPort: src[1],
    dstAddr: dst[0],
    dstPort: dst[1],
    protocol,
    tcpFlags: flags,
    packets,
    bytes: packets * 60,
    start,
    end: start,
    offset: 0,
  };
}

const srv: [string, number] = ['198.18.0.2', 9443];
const cli: [string, number] = ['198.18.0.1', 40000];
const verdict = (v: ReturnType<typeof judgeConnection>) =>
  v === 'undecided' ? v : v.map((x) => `${x.flow.srcAddr}:${x.flow.srcPort} ${x.grade} ${x.reason}`);

describe('listener inference from flow pairs', () => {
  it('half-open scan: SYN+RST from the client, SYN+ACK back', () => {
    assert.deepEqual(verdict(judgeConnection(flow(cli, srv, S | R, 2), flow(srv, cli, S | A, 1))), [
      '198.18.0.2:9443 strong syn-ack flow',
    ]);
  });

  it('connect scan: the one-packet SYN+ACK flow answered, whatever the ports', () => {
    // Ports the range guess would get backwards: the client on 80, the server on 50000.
    const s: [string, number] = ['198.18.0.2', 50000];
    const c: [string, number] = ['198.18.0.1', 80];
    assert.deepEqual(verdict(judgeConnection(flow(c, s, S | A | R, 3), flow(s, c, S | A, 1))), [
      '198.18.0.2:50000 strong syn-ack flow',
    ]);
  });

  it('full sessions: the later start answered; equal times wait for the rest of the input', () => {
    assert.deepEqual(
      verdict(
        judgeConnection(flow(srv, cli, S | A | P | F, 6, 1001), flow(cli, srv, S | A | P | F, 6, 1000)),
      ),
      ['198.18.0.2:9443 strong syn-ack flow, started later'],
    );
    assert.equal(
      judgeConnection(flow(cli, srv, S | A | P | F, 6), flow(srv, cli, S | A | P | F, 6)),
      'undecided',
    );
    // At the end of the input, with nothing else known: nfdump's port ranges.
    const out: Observation[] = [];
    const inf = new ListenerInference();
    inf.push(flow(cli, srv, S | A | P | F, 6), (o) => out.push(o));
    inf.push(flow(srv, cli, S | A | P | F, 6), (o) => out.push(o));
    const high: [string, number] = ['198.18.0.2', 50001];
    const c3: [string, number] = ['198.18.0.1', 50002];
    inf.push(flow(c3, high, S | A | P, 5), (o) => out.push(o));
    inf.push(flow(high, c3, S | A | P, 5), (o) => out.push(o));
    assert.equal(out.length, 0);
    inf.finish((o) => out.push(o));
    assert.deepEqual(
      out.map((o) => `${o.host} ${o.port} ${o.reason}`),
      ['198.18.0.2 9443 syn-ack flow, direction by port range'],
    );
    assert.equal(inf.unresolved, 1);
  });

  it('a listener on a high port proved by a scan is not taken for the client of a later full session', () => {
    // nmap -sT then -sV against 198.18.0.2:50000 from ephemeral ports 40000 and 40001: the port
    // ranges alone would name 40001 the server of the -sV session.
    const hi: [string, number] = ['198.18.0.2', 50000];
    const c1: [string, number] = ['198.18.0.1', 40000];
    const c2: [string, number] = ['198.18.0.1', 40001];
    const out: Observation[] = [];
    const inf = new ListenerInference();
    for (const f of [
      flow(c1, hi, S | A | R, 3),
      flow(hi, c1, S | A, 1),
      flow(c2, hi, S | A | P | F, 7),
      flow(hi, c2, S | A | P | F, 6),
    ])
      inf.push(f, (o) => out.push(o));
    inf.finish((o) => out.push(o));
    assert.deepEqual(
      out.map((o) => `${o.host} ${o.port} ${o.reason}`),
      ['198.18.0.2 50000 syn-ack flow', '198.18.0.2 50000 syn-ack flow, endpoint answered other connections'],
    );
  });

  it('a closed port answers RST without SYN: negative; an unanswered SYN proves nothing', () => {
    assert.deepEqual(verdict(judgeConnection(flow(cli, srv, S, 1), flow(srv, cli, A | R, 1))), [
      '198.18.0.2:9443 negative rst answer to syn',
    ]);
    assert.deepEqual(verdict(judgeConnection(flow(cli, srv, S, 2), null)), []);
    assert.deepEqual(verdict(judgeConnection(flow(srv, cli, S | A, 1), null)), [
      '198.18.0.2:9443 strong syn-ack flow',
    ]);
    assert.deepEqual(verdict(judgeConnection(flow(cli, srv, S | A | R, 3), null)), []);
  });

  it('UDP: a reply is weak, no reply is nothing', () => {
    const dns: [string, number] = ['198.18.0.53', 53];
    assert.deepEqual(
      verdict(judgeConnection(flow(cli, dns, 0, 1, 1000, 17), flow(dns, cli, 0, 1, 1001, 17))),
      ['198.18.0.53:53 weak udp reply flow, started later'],
    );
    const out: Observation[] = [];
    const inf = new ListenerInference();
    inf.push(flow(cli, dns, 0, 1, 1000, 17), (o) => out.push(o));
    inf.push(flow(dns, cli, 0, 1, 1000, 17), (o) => out.push(o));
    inf.finish((o) => out.push(o));
    assert.deepEqual(
      out.map((o) => `${o.host} ${o.protocol}/${o.port} ${o.grade} ${o.reason}`),
      ['198.18.0.53 udp/53 weak udp reply flow, direction by port range'],
    );
    assert.deepEqual(verdict(judgeConnection(flow(cli, ['198.18.0.2', 514], 0, 3, 1000, 17), null)), []);
  });

  it("nfdump's port ranges", () => {
    assert.equal(portRangeGuess(22, 50000), 1);
    assert.equal(portRangeGuess(40000, 11211), -1);
    assert.equal(portRangeGuess(33000, 50000), 1);
    assert.equal(portRangeGuess(123, 123), 0);
    assert.equal(portRangeGuess(50000, 60000), 0);
  });

  it('live: flows wait two ticks for their reverse, undecided connections as long', () => {
    const high: [string, number] = ['198.18.0.2', 50001];
    const c2: [string, number] = ['198.18.0.1', 50002];
    const out: Observation[] = [];
    const inf = new ListenerInference();
    // A full session between two high ports (undecided), then a connect scan proving 198.18.0.2:50001.
    inf.push(flow(c2, high, S | A | P, 5), (o) => out.push(o));
    inf.push(flow(high, c2, S | A | P, 5), (o) => out.push(o));
    inf.push(flow(cli, high, S | A | R, 3), (o) => out.push(o));
    inf.push(flow(high, cli, S | A, 1), (o) => out.push(o));
    // A lone SYN-ACK without its reverse yet.
    inf.push(flow(['198.18.0.3', 22], cli, S | A, 1), (o) => out.push(o));
    assert.deepEqual(
      out.map((o) => o.reason),
      ['syn-ack flow'],
    );
    inf.tick((o) => out.push(o));
    assert.equal(out.length, 1);
    inf.tick((o) => out.push(o));
    assert.deepEqual(
      out.map((o) => `${o.host} ${o.port} ${o.reason}`),
      [
        '198.18.0.2 50001 syn-ack flow',
        '198.18.0.3 22 syn-ack flow',
        '198.18.0.2 50001 syn-ack flow, endpoint answered other connections',
      ],
    );
  });
});
