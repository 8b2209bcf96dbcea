import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { BaselineWriter, type BaselineContext } from '../../baseline/index.ts';
import type { Store } from '../../store/index.ts';
import { openBaselineStore } from '../../testing/baseline.ts';
import { IngestSink, ingestStream, type IngestSummary } from '../ingest.service.ts';
import { holdStreamParseWorkers } from './stream-parse.pool.ts';
import { parseStreamBatches } from './stream-tcp.parser.ts';

// A big Stream import read on worker threads, its observations grouped by service there, must leave the
// baseline exactly as the same input read and pushed one event at a time on a single thread does.
const LINES = 40_000;
const SERVERS = 2_500;

function line(i: number): string {
  if (i % 997 === 0) return '{"dest_ip": "198.18.1.1", "dest_port": 443, "tcp_st'; // cut short
  const srv = i % SERVERS;
  // Unanswered (no evidence), strong (the server sent), weak (only the client's packets acknowledged).
  const kind = i % 10 === 0 ? 'none' : i % 7 === 0 ? 'weak' : 'strong';
  // Times out of order: a jitter of up to a minute back, and some events without a timestamp.
  const ts = new Date(Date.UTC(2026, 10, 20) + i * 10 - (i % 13) * 5_000).toISOString();
  const event: Record<string, unknown> = {
    src_ip: '198.19.0.1',
    src_port: 40000 + (i % 20000),
    dest_ip: i % 1499 === 0 ? '300.1.1.1' : `198.18.${srv >> 8}.${srv & 255}`,
    dest_port: 443 + (srv % 3),
    tcp_status: kind === 'none' ? 2 : 0,
    ack_packets_out: kind === 'strong' ? 4 : 0,
    ack_packets_in: 5,
    // The evidence changes half-way through for every other server; some servers' keeps changing
    // (more distinct pieces of evidence than the writer searches).
    protocol_stack: i > LINES / 2 && srv % 2 === 0 ? 'ip:tcp:http' : 'ip:tcp:https',
    ...(srv % 250 === 1 ? { app: `app-${i % 23}` } : {}),
    bytes_in: 400,
    bytes_out: 800,
    capture_hostname: 'tap-02',
  };
  if (i % 1301 === 0) event.timestamp = 'yesterday';
  else if (i % 11 === 0) event.endtime = ts;
  else if (i % 17 !== 0) event.timestamp = ts;
  return JSON.stringify(event);
}

async function* pieces(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

/** Every stored row the import made, but the columns the database's clock fills in. */
async function dump(store: Store): Promise<Record<string, unknown[]>> {
  const q = async (text: string) => (await sql.raw(text).execute(store.db)).rows;
  return {
    services: await q(
      'SELECT id, host, addr, protocol, port, state, evidence, first_seen, last_seen, observations, sources, reason, last_source, service, hostnames, tags, detection, container_id, gone_at, state_changed_at FROM services ORDER BY id',
    ),
    changes: await q(
      'SELECT id, service_id, host, protocol, port, change, at, detail FROM service_changes ORDER BY id',
    ),
    containers: await q(
      'SELECT id, name, label, description, severity, sensitivity, status, container_type, source_data_identifier, tags, data, start_time FROM containers ORDER BY id',
    ),
    artifacts: await q(
      'SELECT id, container_id, name, label, type, severity, source_data_identifier, cef, cef_types, data, tags FROM artifacts ORDER BY id',
    ),
  };
}

describe('a big Stream import grouped by service on worker threads', () => {
  let release: () => void;
  const stores: Store[] = [];
  before(async () => {
    release = await holdStreamParseWorkers(1);
  });
  after(async () => {
    release();
    for (const s of stores) await s.close();
  });

  async function fresh(): Promise<BaselineContext & { store: Store }> {
    const { store, ctx } = await openBaselineStore();
    stores.push(store);
    return { store, ...ctx };
  }

  for (const batchSize of [undefined, 7_000]) {
    it(`records what a single thread records, row for row (batch size ${batchSize ?? 'default'})`, async () => {
      const text = Array.from({ length: LINES }, (_, i) => line(i + 1)).join('\n') + '\n';
      assert.ok(text.length > 8 * 1024 * 1024);
      const buf = Buffer.from(text);
      const opts = {
        file: 'flows.ndjson',
        learning: false,
        maxIssues: 10_000,
        ...(batchSize ? { batchSize } : {}),
      };

      // One thread, one event at a time.
      const one = await fresh();
      const sink = new IngestSink(one, { ...opts, format: 'stream' });
      await sink.start();
      for await (const batch of parseStreamBatches(pieces(buf, 65536)))
        for (const e of batch) if (sink.take(e)) await sink.writer.flush();
      const expected: IngestSummary = { ...(await sink.finish()), bytes: buf.length };

      // Worker threads, grouped parts.
      const pooled = await fresh();
      const push = BaselineWriter.prototype.pushGrouped;
      let grouped = 0;
      BaselineWriter.prototype.pushGrouped = function (g) {
        const took = push.call(this, g);
        if (took) grouped++;
        return took;
      };
      let got: IngestSummary;
      try {
        got = await ingestStream(pooled, pieces(buf, 65536), { ...opts, format: 'stream' });
      } finally {
        BaselineWriter.prototype.pushGrouped = push;
      }
      assert.ok(grouped >= 2, `parts taken grouped: ${grouped}`);

      // The input as generated: every line a record, each bad line an issue.
      assert.equal(expected.records, LINES);
      assert.ok(expected.issues_total >= Math.floor(LINES / 997) + Math.floor(LINES / 1499));
      assert.ok(expected.containers > 0);
      assert.deepEqual(got, expected);
      const a = await dump(one.store);
      const b = await dump(pooled.store);
      // Servers whose connections are all unanswered (every tenth line, so every tenth server) are no listeners.
      assert.equal(a.services!.length, SERVERS - SERVERS / 10);
      assert.deepEqual(b, a);
    });
  }
});
