import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gradedKeys } from '../common/parser-properties.ts';
import { ListenerInference } from './listener.inference.ts';
import { TCP_ACK, TCP_RST, TCP_SYN, type TransportSegment } from './packet.decoder.ts';

const A = '198.18.0.1';
const B = '198.18.0.2';
const tcp = (
  src: string,
  srcPort: number,
  dst: string,
  dstPort: number,
  flags: number,
): TransportSegment => ({
  protocol: 'tcp',
  src,
  dst,
  srcPort,
  dstPort,
  flags,
});
const udp = (src: string, srcPort: number, dst: string, dstPort: number): TransportSegment => ({
  protocol: 'udp',
  src,
  dst,
  srcPort,
  dstPort,
  flags: 0,
});

function infer(packets: TransportSegment[], limit?: number) {
  const inf = new ListenerInference(limit);
  packets.forEach((p, i) => inf.add(p, 1000 * (i + 1), i));
  return inf.take();
}

describe('ListenerInference', () => {
  it('a SYN-ACK proves its sender listens; the client of a connect scan gets nothing for its RST', () => {
    const obs = infer([
      tcp(A, 40000, B, 22, TCP_SYN),
      tcp(B, 22, A, 40000, TCP_SYN | TCP_ACK),
      tcp(A, 40000, B, 22, TCP_ACK),
      tcp(A, 40000, B, 22, TCP_RST | TCP_ACK),
    ]);
    assert.deepEqual(gradedKeys(obs), [`${B} tcp/22 strong`]);
    assert.equal(obs[0]!.reason, 'syn-ack');
    assert.equal(obs[0]!.seenAt?.getTime(), 2000);
  });

  it('a RST answering a SYN is negative; a RST that answers no SYN, or a SYN-ACK with RST, proves nothing', () => {
    const obs = infer([
      tcp(A, 40001, B, 23, TCP_SYN),
      tcp(B, 23, A, 40001, TCP_RST | TCP_ACK),
      tcp(B, 24, A, 40002, TCP_RST),
      tcp(B, 25, A, 40003, TCP_SYN | TCP_ACK | TCP_RST),
    ]);
    assert.deepEqual(gradedKeys(obs), [`${B} tcp/23 negative`]);
  });

  it('first and latest sightings become two observations; negative evidence comes last', () => {
    const obs = infer([
      tcp(B, 22, A, 1, TCP_SYN | TCP_ACK),
      tcp(A, 2, B, 80, TCP_SYN),
      tcp(B, 80, A, 2, TCP_RST | TCP_ACK),
      tcp(B, 22, A, 3, TCP_SYN | TCP_ACK),
      tcp(B, 22, A, 4, TCP_SYN | TCP_ACK),
    ]);
    assert.deepEqual(
      obs.map((o) => [o.port, o.grade, o.seenAt?.getTime()]),
      [
        [22, 'strong', 1000],
        [22, 'strong', 5000],
        [80, 'negative', 3000],
      ],
    );
  });

  it('UDP: the side that spoke first never gets evidence; the answering side is weak', () => {
    const obs = infer([
      udp(A, 50000, B, 53),
      udp(B, 53, A, 50000),
      udp(A, 50000, B, 53),
      udp(B, 53, A, 50000),
      // Nobody answers 514.
      udp(A, 50001, B, 514),
      udp(A, 50001, B, 514),
    ]);
    assert.deepEqual(gradedKeys(obs), [`${B} udp/53 weak`]);
    assert.equal(obs[0]!.reason, 'udp reply');
  });

  it('keeps its state bounded: a full aggregate says so, and forgotten SYNs prove nothing', () => {
    const inf = new ListenerInference(2);
    inf.add(tcp(B, 1, A, 9, TCP_SYN | TCP_ACK), 1, 0);
    assert.equal(inf.full, false);
    inf.add(tcp(B, 2, A, 9, TCP_SYN | TCP_ACK), 2, 0);
    assert.equal(inf.full, true);
    assert.equal(inf.take().length, 2);
    assert.equal(inf.full, false);
    // Three SYNs waiting with room for two: the oldest is forgotten, so its RST is no evidence.
    const obs = infer(
      [
        tcp(A, 1, B, 101, TCP_SYN),
        tcp(A, 2, B, 102, TCP_SYN),
        tcp(A, 3, B, 103, TCP_SYN),
        tcp(B, 101, A, 1, TCP_RST | TCP_ACK),
        tcp(B, 103, A, 3, TCP_RST | TCP_ACK),
      ],
      2,
    );
    assert.deepEqual(gradedKeys(obs), [`${B} tcp/103 negative`]);
  });
});
