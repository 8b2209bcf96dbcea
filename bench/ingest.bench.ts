// End-to-end ingest into the embedded baseline:
//  1. N generated Splunk Stream `stream:tcp` NDJSON events (default 1,000,000), written to a temp file
//     first (as `portcullis ingest FILE` reads them; generating the text would otherwise cost as much as
//     parsing it), then read from that file through ingestStream into PGlite on a temp data dir, against
//     the reference measured in the same run on the same file: JSON.parse per line plus an in-memory
//     aggregate per (dest_ip, dest_port).
//  2. A generated nmap XML document of M MB (default 1024), streamed from the generator to
//     `POST /api/imports` of a server started as `npm start` starts it (`node bin/portcullis.js serve`,
//     so from the server bundle when it is fresh), as `portcullis ingest FILE` sends it: throughput,
//     and the server process's resident memory after each tenth of the input and at its peak, against
//     the 300 MB target.
//  3. HEC: POST of a never-seen listener, then GET of its container over REST, repeated; p50/p99.
// Every figure is printed with the load average (the machine may be shared) and, where there is one,
// next to its reference measured in the same run.
// Run: node --import tsx bench/ingest.bench.ts [EVENTS] [NMAP_MB] [HEC_ROUNDS]
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppContext } from '../src/api/index.ts';
import { buildServer } from '../src/api/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { createToken } from '../src/identity/index.ts';
import { ingestStream, parseStream, type IngestSummary } from '../src/ingest/index.ts';
import { createLogger } from '../src/logging/index.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { insecureAgent, startServerProcess } from '../src/testing/server.ts';
import { request } from 'undici';
// @ts-expect-error plain JavaScript next to the entry point, without declarations
import { freshBundle as freshBundleJs } from '../bin/cli-bundle.js';

const freshBundle = freshBundleJs as (root: URL, command?: string, dir?: string) => URL | undefined;

const EVENTS = Number(process.argv[2] ?? 1_000_000);
const NMAP_MB = Number(process.argv[3] ?? 1024);
const HEC_ROUNDS = Number(process.argv[4] ?? 200);
const SERVERS = 5000;
const BATCH_LINES = 2000;

const mb = (n: number) => (n / 1024 / 1024).toFixed(0);
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;
const rssMb = () => process.memoryUsage.rss() / 1024 / 1024;
/** VmRSS (now) and VmHWM (peak since it started) of another process, in MB. */
function procRssMb(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { now: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}
const RSS_TARGET_MB = 300;
const load = () =>
  `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
const READ_CHUNK = 1024 * 1024;

/** Writes the Stream events to `file` (streamed: the file may be larger than memory should hold). */
async function writeStreamFile(file: string, n: number): Promise<void> {
  const out = createWriteStream(file);
  for await (const chunk of streamEvents(n)) if (!out.write(chunk)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

/** Stream events: SERVERS servers answering, one in ten connections unanswered (tcp_status 2). */
async function* streamEvents(n: number): AsyncGenerator<Buffer> {
  const t0 = Date.parse('2026-11-20T00:00:00Z');
  for (let i = 0; i < n;) {
    let s = '';
    for (let k = 0; k < BATCH_LINES && i < n; k++, i++) {
      const srv = i % SERVERS;
      const dest = `198.18.${srv >> 8}.${srv & 255}`;
      const answered = i % 10 !== 0;
      const ts = new Date(t0 + i * 10).toISOString();
      s +=
        `{"ack_packets_in": ${answered ? 5 : 0}, "ack_packets_out": ${answered ? 4 : 0}, "bytes": 1200, "bytes_in": 400, "bytes_out": 800, ` +
        `"capture_hostname": "tap-02", "client_rtt": 0, "data_packets_in": 2, "data_packets_out": 2, "dest_ip": "${dest}", "dest_port": ${443 + (srv % 7)}, ` +
        `"duplicate_packets_in": 0, "duplicate_packets_out": 0, "endtime": "${ts}", "missing_packets_in": 0, "missing_packets_out": 0, ` +
        `"network_interface": "eth2", "packets_in": 6, "packets_out": 5, "protocol_stack": "ip:tcp:https", "server_rtt": 0, ` +
        `"src_ip": "198.19.${(i >> 8) & 255}.${i & 255}", "src_port": ${1024 + (i % 60000)}, "tcp_status": ${answered ? 0 : 2}, "time_taken": 900000, ` +
        `"timestamp": "${ts}", "transport": "tcp"}\n`;
    }
    yield Buffer.from(s);
  }
}

/** nmap -oX of hosts with 10 ports each (4 open), until `bytes` are produced. */
async function* nmapXml(bytes: number): AsyncGenerator<Buffer> {
  yield Buffer.from(
    '<?xml version="1.0" encoding="UTF-8"?>\n<nmaprun scanner="nmap" args="nmap -sT" start="1795529885" version="7.93" xmloutputversion="1.05">\n',
  );
  let sent = 0;
  for (let h = 0; sent < bytes;) {
    let s = '';
    for (let k = 0; k < 200; k++, h++) {
      let ports = '';
      for (let p = 0; p < 10; p++)
        ports += `<port protocol="tcp" portid="${22 + p * 1000}"><state state="${p % 3 === 0 ? 'open' : 'closed'}" reason="${p % 3 === 0 ? 'syn-ack' : 'conn-refused'}" reason_ttl="0"/><service name="http" method="table" conf="3"/></port>\n`;
      s += `<host starttime="1795529885" endtime="1795529890"><status state="up" reason="user-set" reason_ttl="0"/>\n<address addr="10.${(h >> 16) & 255}.${(h >> 8) & 255}.${h & 255}" addrtype="ipv4"/>\n<ports>${ports}</ports>\n</host>\n`;
    }
    const b = Buffer.from(s);
    sent += b.length;
    yield b;
  }
  yield Buffer.from('<runstats><finished time="1795529999" exit="success"/></runstats>\n</nmaprun>\n');
}

async function reference(file: string): Promise<{ seconds: number; servers: number }> {
  const t = performance.now();
  const agg = new Map<string, { first: number; last: number; count: number }>();
  let rest = '';
  for await (const chunk of createReadStream(file, { highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>) {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const e = JSON.parse(line) as {
        dest_ip: string;
        dest_port: number;
        tcp_status: number;
        ack_packets_out: number;
        timestamp: string;
      };
      if (e.tcp_status !== 0 || !(e.ack_packets_out > 0)) continue;
      const key = `${e.dest_ip}|${e.dest_port}`;
      const ts = Date.parse(e.timestamp);
      const a = agg.get(key);
      if (a) {
        a.count++;
        if (ts > a.last) a.last = ts;
      } else agg.set(key, { first: ts, last: ts, count: 1 });
    }
  }
  return { seconds: (performance.now() - t) / 1000, servers: agg.size };
}

function context(store: Store, dataDir: string): AppContext {
  return {
    config: loadConfig({ PORTCULLIS_DATA_DIR: dataDir, PORTCULLIS_GONE_AFTER: '3650d' }),
    store,
    db: store.db,
    logger: createLogger('silent', { write: () => {} }),
    now: () => new Date(),
    onShutdown: () => {},
  };
}

/**
 * Streams `total` bytes of generated nmap XML to `POST /api/imports` of a server started the way
 * `npm start` starts it, and prints the server process's resident memory: after each tenth of the
 * input, the highest sampled (every 100 ms) during the import, and its peak since it started (VmHWM).
 */
async function nmapIntoServer(total: number): Promise<void> {
  const root = new URL('../', import.meta.url);
  const fromBundle = process.env.PORTCULLIS_CLI_BUNDLE !== '0' && freshBundle(root, 'serve', 'dist/server/');
  const server = await startServerProcess({
    env: { PORTCULLIS_LOG_LEVEL: 'warn', PORTCULLIS_GONE_AFTER: '3650d' },
  });
  try {
    const pid = server.proc.pid!;
    const started = procRssMb(pid);
    const marks: string[] = [];
    let high = 0;
    const sample = () => {
      const now = procRssMb(pid).now;
      high = Math.max(high, now);
      return now;
    };
    const sampler = setInterval(sample, 100);
    async function* measured(): AsyncGenerator<Buffer> {
      let sent = 0;
      let next = total / 10;
      for await (const b of nmapXml(total)) {
        yield b;
        sent += b.length;
        if (sent >= next) {
          marks.push(`${mb(sent)} MB: ${sample().toFixed(0)}`);
          next += total / 10;
        }
      }
    }
    const t = performance.now();
    const res = await request(`${server.url}/api/imports?format=nmap-xml&filename=bench.xml&learning=true`, {
      method: 'POST',
      dispatcher: insecureAgent,
      headers: { 'ph-auth-token': server.token, 'content-type': 'application/octet-stream' },
      body: Readable.from(measured()),
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    const text = await res.body.text();
    clearInterval(sampler);
    sample();
    const { peak } = procRssMb(pid);
    if (res.statusCode !== 200) throw new Error(`POST /api/imports answered ${res.statusCode}: ${text}`);
    const x = JSON.parse(text) as IngestSummary;
    const xs = (performance.now() - t) / 1000;
    console.log(
      `nmap XML into \`portcullis serve\` (started from ${fromBundle ? 'the server bundle, dist/server' : 'the sources through tsx'}; RSS ${started.now.toFixed(0)} MB once serving): ` +
        `${mb(x.bytes)} MB, ${x.records} hosts, ${x.observations} observations in ${xs.toFixed(1)} s = ${(x.bytes / 1024 / 1024 / xs).toFixed(1)} MB/s; ` +
        `${x.new_services} services; server RSS during the import at most ${high.toFixed(0)} MB, peak since start ${peak.toFixed(0)} MB ` +
        `(target < ${RSS_TARGET_MB} MB: ${peak < RSS_TARGET_MB ? 'met' : 'NOT met'}); ${load()}\n` +
        `  server RSS (MB) after each tenth of the input: ${marks.join(', ')}`,
    );
  } finally {
    await server.stop();
    server.cleanup();
  }
}

async function main(): Promise<void> {
  // 2. nmap XML, first: it runs in a server process of its own, the other parts in this one.
  if (NMAP_MB > 0) await nmapIntoServer(NMAP_MB * 1024 * 1024);
  if (EVENTS <= 0 && HEC_ROUNDS <= 0) return;
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-ingest-bench-'));
  try {
    const before = rssMb();
    const store = await openStore({ dataDir: dir });
    const ctx = context(store, dir);
    console.log(
      `embedded store open: RSS ${before.toFixed(0)} MB before (Node, tsx and the code), ${rssMb().toFixed(0)} MB after, peak ${peakRssMb().toFixed(0)} MB`,
    );

    // 1. Stream NDJSON, from a file.
    if (EVENTS > 0) {
      const file = join(dir, 'bench.ndjson');
      await writeStreamFile(file, EVENTS);
      const read = () => createReadStream(file, { highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>;
      const ref = await reference(file);
      const tp = performance.now();
      let parsed = 0;
      for await (const e of parseStream(read(), {})) if (e.kind === 'observation') parsed++;
      const parserRate = EVENTS / ((performance.now() - tp) / 1000);
      console.log(
        `stream:tcp parser alone: ${Math.round(parserRate).toLocaleString('en')} events/s (${parsed} observations); ${load()}`,
      );
      const t = performance.now();
      const s = await ingestStream(ctx, read(), {
        format: 'stream',
        file: 'bench.ndjson',
        learning: true,
      });
      const secs = (performance.now() - t) / 1000;
      const rate = EVENTS / secs;
      const refRate = EVENTS / ref.seconds;
      console.log(
        `stream:tcp NDJSON: ${EVENTS} events (${mb(s.bytes)} MB) in ${secs.toFixed(2)} s = ${Math.round(rate).toLocaleString('en')} events/s ` +
          `(reference JSON.parse + in-memory aggregate: ${Math.round(refRate).toLocaleString('en')} events/s; ratio ${(rate / refRate).toFixed(2)}); ` +
          `${s.new_services} services (reference ${ref.servers}); peak RSS ${peakRssMb().toFixed(0)} MB; target ≥ 300,000 events/s, RSS < 400 MB; ${load()}`,
      );
      rmSync(file, { force: true });
    }
    // 3. HEC → container readable over REST.
    if (HEC_ROUNDS > 0) {
      const app = await buildServer(ctx);
      await app.ready();
      const admin = await store.db.selectFrom('users').select('id').orderBy('id').executeTakeFirst();
      const userId =
        admin?.id ??
        (
          await store.db
            .insertInto('users')
            .values({ username: 'bench', role: 'admin', password_hash: null })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id;
      const hec = (await createToken(store.db, { userId, name: 'bench hec', kind: 'hec' })).token;
      const api = (await createToken(store.db, { userId, name: 'bench api', kind: 'api' })).token;
      const lat: number[] = [];
      for (let i = 0; i < HEC_ROUNDS; i++) {
        const host = `198.19.200.${i % 250}`;
        const port = 20000 + i;
        const event = {
          dest_ip: host,
          dest_port: port,
          src_ip: '198.19.201.1',
          src_port: 40000,
          tcp_status: 0,
          ack_packets_out: 1,
          ack_packets_in: 1,
          timestamp: new Date().toISOString(),
        };
        const t0 = performance.now();
        const post = await app.inject({
          method: 'POST',
          url: '/services/collector/event',
          headers: { authorization: `Splunk ${hec}` },
          payload: JSON.stringify({ sourcetype: 'stream:tcp', event }),
        });
        if (post.statusCode !== 200) throw new Error(`HEC answered ${post.statusCode}: ${post.body}`);
        const sdi = `"svc:${host}:tcp:${port}"`;
        const get = await app.inject({
          method: 'GET',
          url: `/rest/container?_filter_source_data_identifier=${encodeURIComponent(sdi)}`,
          headers: { 'ph-auth-token': api },
        });
        const found = (get.json() as { count: number }).count;
        lat.push(performance.now() - t0);
        if (found !== 1) throw new Error(`container for ${sdi} not readable after the HEC POST`);
      }
      lat.sort((a, b) => a - b);
      const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]!;
      console.log(
        `HEC POST of a new listener → container readable over REST: ${HEC_ROUNDS} rounds, p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms (target p99 < 1000 ms); ${load()}`,
      );
      await app.close();
    }
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
