import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { listServices, type BaselineContext } from '../../baseline/index.ts';
import type { Store } from '../../store/index.ts';
import { openBaselineStore } from '../../testing/baseline.ts';
import { ingestStream } from '../ingest.service.ts';
import { holdStreamParseWorkers } from './stream-parse.pool.ts';

// An import big enough to be parsed on the worker threads (over 4 MiB), end to end into the baseline.
const LINES = 40_000;
const SERVERS = 300;

function line(i: number): string {
  if (i % 997 === 0) return '{"dest_ip": "198.18.1.1", "dest_port": 443, "tcp_st'; // cut short
  const event = {
    src_ip: '198.19.0.1',
    src_port: 40000 + (i % 20000),
    dest_ip: i % 1499 === 0 ? '300.1.1.1' : `198.18.${(i % SERVERS) >> 8}.${(i % SERVERS) & 255}`,
    dest_port: 443 + (i % 3),
    tcp_status: i % 10 === 0 ? 2 : 0,
    ack_packets_out: i % 10 === 0 ? 0 : 4,
    ack_packets_in: 5,
    protocol_stack: 'ip:tcp:https',
    bytes_in: 400,
    bytes_out: 800,
    capture_hostname: 'tap-02',
    network_interface: 'eth2',
    timestamp: new Date(Date.UTC(2026, 10, 20, 0, 0, 0) + i * 10).toISOString(),
  };
  return JSON.stringify(event);
}

describe('a big Stream import (read on worker threads)', () => {
  let store: Store;
  let ctx: BaselineContext;
  let release: () => void;
  before(async () => {
    // Loaded before the import, so it reaches them before its end (a server's next import would).
    release = await holdStreamParseWorkers(1);
    ({ store, ctx } = await openBaselineStore());
  });
  after(async () => {
    release();
    await store.close();
  });

  it('records what the input says: every record, the listeners, and each bad line by its number', async () => {
    const text = Array.from({ length: LINES }, (_, i) => line(i + 1)).join('\n') + '\n';
    assert.ok(text.length > 8 * 1024 * 1024);
    // Expected from the input as generated.
    const bad: number[] = [];
    const services = new Set<string>();
    let observations = 0;
    for (let i = 1; i <= LINES; i++) {
      if (i % 997 === 0 || i % 1499 === 0) bad.push(i);
      // tcp_status 2 is an unanswered SYN: no evidence, whatever ack_packets_in says.
      else if (i % 10 !== 0) {
        observations++;
        services.add(`198.18.${(i % SERVERS) >> 8}.${(i % SERVERS) & 255} tcp/${443 + (i % 3)}`);
      }
    }

    async function* pieces(buf: Buffer, size: number): AsyncGenerator<Buffer> {
      for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
    }
    for (const [name, input] of [
      ['big.ndjson', Buffer.from(text)],
      ['big.ndjson.gz', gzipSync(text)],
    ] as const) {
      const s = await ingestStream(ctx, pieces(input, 65536), { file: name, maxIssues: 1000 });
      assert.equal(s.format, 'stream');
      assert.equal(s.records, LINES);
      assert.equal(s.observations, observations);
      assert.equal(s.issues_total, bad.length);
      assert.deepEqual(
        s.issues.map((i) => i.line),
        bad,
      );
      assert.ok(s.issues.every((i) => i.file === name));
    }
    const { data: rows } = await listServices(store.db, { limit: 0, offset: 0, sort: 'host', order: 'asc' });
    assert.deepEqual(rows.map((r) => `${r.host} ${r.protocol}/${r.port}`).sort(), [...services].sort());
    assert.ok(rows.every((r) => r.evidence === 'strong'));
  });
});
