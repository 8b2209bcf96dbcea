import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { listServices, type BaselineContext } from '../baseline/index.ts';
import type { Store } from '../store/index.ts';
import { openBaselineStore } from '../testing/baseline.ts';
import { AppError } from '../util/errors.ts';
import { ingestStream, type IngestSummary } from './ingest.service.ts';

const data = (p: string) => new URL(p, import.meta.url);
// The real tools' output (../../shared/fixtures/real-tools, copied beside each parser) and the
// constructed Stream events, in the order of the evidence acceptance manifest.
const FILES = [
  'nmap/testdata/nmap-sT-sV.xml',
  'nmap/testdata/nmap-sT-allports.xml',
  'nmap/testdata/nmap-ipv6.xml',
  'nmap/testdata/nmap-host-down.xml',
  'nmap/testdata/nmap-udp.xml',
  'netcat/testdata/nc-openbsd.txt',
  'netcat/testdata/ncat.txt',
  'stream/testdata/stream-tcp.ndjson',
];
// Ground truth from the fixtures' READMEs: TCP listeners on host B, and the Stream servers.
const TRUTH = [
  '198.18.0.2 tcp/2222',
  '198.18.0.2 tcp/3306',
  '198.18.0.2 tcp/9090',
  '198.18.0.2 tcp/9443',
  '198.51.100.80 tcp/25',
  '198.51.100.81 tcp/1433',
  '2001:db8:1::81 tcp/993',
  'fd00:198:18::2 tcp/11211',
];
// The netcat files carry no times: the file's time stands in (fixed here so re-imports are the same).
const FILE_TIME = new Date('2026-11-23T10:00:00Z');

/** The input in small pieces, as a network upload arrives. */
async function* pieces(buf: Buffer, size = 700): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

function ingestFile(
  ctx: BaselineContext,
  path: string,
  opts: { learning?: boolean } = {},
): Promise<IngestSummary> {
  return ingestStream(ctx, pieces(readFileSync(data(path))), {
    file: path.split('/').pop()!,
    observedAt: FILE_TIME,
    ...opts,
  });
}

async function containerCount(store: Store): Promise<number> {
  const r = await store.db
    .selectFrom('containers')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

describe('ingestStream with the real parsers', () => {
  let store: Store;
  let ctx: BaselineContext;
  before(async () => {
    ({ store, ctx } = await openBaselineStore());
  });
  after(() => store.close());

  it('yields exactly the ground truth of the real tools, learns first, alerts on later first sightings, and is idempotent', async () => {
    const first = await ingestFile(ctx, FILES[0]!);
    assert.equal(first.format, 'nmap-xml');
    assert.equal(first.learning, true);
    assert.equal(first.containers, 0);
    assert.equal(first.new_services, 4);
    for (const f of FILES.slice(1)) {
      const s = await ingestFile(ctx, f);
      assert.equal(s.learning, false, f);
      assert.equal(s.issues_total, 0, `${f}: ${JSON.stringify(s.issues)}`);
    }
    const services = await listServices(store.db, { limit: 0, offset: 0, sort: 'host', order: 'asc' });
    const strongTcp = services.data
      .filter((s) => s.evidence === 'strong' && s.protocol === 'tcp')
      .map((s) => `${s.host} ${s.protocol}/${s.port}`);
    assert.deepEqual(strongTcp.sort(), [...TRUTH].sort());
    // UDP 514 open|filtered is recorded as weak evidence, nothing else on UDP.
    assert.deepEqual(
      services.data.filter((s) => s.protocol === 'udp').map((s) => `${s.host} ${s.port} ${s.evidence}`),
      ['198.18.0.2 514 weak'],
    );
    // First sightings after the learning run: the IPv6 service and the three Stream servers.
    const raised = await containerCount(store);
    assert.equal(raised, 4);
    for (const f of FILES) {
      const again = await ingestFile(ctx, f);
      assert.deepEqual([again.new_services, again.updated_services, again.containers], [0, 0, 0], f);
    }
    assert.equal(await containerCount(store), raised);
  });

  it('names the bad lines of a Stream file and keeps the good ones', async () => {
    const s = await ingestFile(ctx, 'stream/testdata/stream-tcp-badline.ndjson');
    assert.equal(s.records, 4);
    assert.equal(s.observations, 2);
    const lines = [...new Set(s.issues.map((i) => i.line))].sort();
    assert.deepEqual(lines, [2, 3]);
    assert.ok(s.issues.every((i) => i.file === 'stream-tcp-badline.ndjson'));
  });

  it('reports a truncated nmap XML file and keeps the ports before the cut', async () => {
    const s = await ingestFile(ctx, 'nmap/testdata/nmap-truncated.xml');
    assert.equal(s.issues_total, 1);
    assert.match(s.issues[0]!.message, /truncat|unexpected end/i);
    assert.ok(s.observations >= 2);
  });

  it('refuses input of unknown format or empty input with a 400 error naming the file', async () => {
    await assert.rejects(
      ingestStream(ctx, pieces(Buffer.from('hello world\nthis is not evidence\n')), { file: 'notes.txt' }),
      (e: unknown) =>
        e instanceof AppError &&
        e.status === 400 &&
        e.code === 'unknown_format' &&
        /notes\.txt/.test(e.message),
    );
    await assert.rejects(
      ingestStream(ctx, pieces(Buffer.alloc(0)), { file: 'empty.txt' }),
      (e: unknown) => e instanceof AppError && e.status === 400 && e.code === 'no_data',
    );
  });

  it('keeps what was read before the input exceeds its size limit, then fails with 413', async () => {
    const big = Buffer.from(readFileSync(data('stream/testdata/stream-tcp.ndjson'), 'utf8').repeat(50));
    await assert.rejects(
      ingestStream(ctx, pieces(big, 4096), { file: 'big.ndjson', maxBytes: 16_384 }),
      (e: unknown) => e instanceof AppError && e.status === 413,
    );
  });

  it('reads gzip-compressed input as its content, one member or several', async () => {
    const xml = readFileSync(data('nmap/testdata/nmap-sT-sV.xml'));
    const plain = await ingestStream(ctx, pieces(xml), { file: 'a.xml', observedAt: FILE_TIME });
    const gz = await ingestStream(ctx, pieces(gzipSync(xml), 97), {
      file: 'a.xml.gz',
      observedAt: FILE_TIME,
    });
    assert.equal(gz.format, 'nmap-xml');
    assert.equal(gz.issues_total, 0);
    assert.deepEqual(
      [gz.records, gz.observations, gz.bytes],
      [plain.records, plain.observations, xml.length],
    );
    // `cat a.gz b.gz` is a valid gzip file holding both contents (RFC 1952, section 2.2).
    const ndjson = readFileSync(data('stream/testdata/stream-tcp.ndjson'));
    const half = ndjson.indexOf(0x0a, ndjson.length >> 1) + 1;
    const two = Buffer.concat([gzipSync(ndjson.subarray(0, half)), gzipSync(ndjson.subarray(half))]);
    const whole = await ingestStream(ctx, pieces(ndjson), { file: 's.ndjson' });
    const joined = await ingestStream(ctx, pieces(two), { file: 's.ndjson.gz' });
    assert.deepEqual([joined.records, joined.observations], [whole.records, whole.observations]);
  });

  it('keeps the records before the damage in a truncated gzip file and says where it broke', async () => {
    const ndjson = readFileSync(data('stream/testdata/stream-tcp.ndjson'));
    const whole = await ingestStream(ctx, pieces(ndjson), { file: 's.ndjson' });
    const gz = gzipSync(ndjson);
    const cut = gz.subarray(0, gz.length - 12);
    const s = await ingestStream(ctx, pieces(cut, 50), { file: 'cut.ndjson.gz' });
    assert.equal(s.format, 'stream');
    assert.ok(s.records > 0 && s.records <= whole.records);
    const problem = s.issues.find((i) => /gzip/.test(i.message));
    assert.ok(problem, JSON.stringify(s.issues));
    assert.match(problem.message, /truncated/);
    assert.equal(problem.offset, cut.length);
    assert.equal(problem.file, 'cut.ndjson.gz');
    // Only the gzip header survives: nothing to read, refused with the reason.
    await assert.rejects(
      ingestStream(ctx, pieces(gz.subarray(0, 10)), { file: 'head.gz' }),
      (e: unknown) => e instanceof AppError && e.status === 400 && /head\.gz.*gzip/.test(e.message),
    );
  });
});
