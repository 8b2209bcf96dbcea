// NetFlow throughput: the real-tools v9 and IPFIX exports (softflowd, ~100,000 flows each) decoded and
// judged by Portcullis' streaming parser, repeated to about a million flows, against nfdump printing
// the same flows from the files nfcapd stored when sent the same datagrams — measured in the same run.
// Run: node --import tsx bench/netflow.bench.ts [REPEAT]   (default 10 repeats of each file)
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { datagramsOf, hasTool, withNfcapdFiles } from '../src/ingest/netflow/exporters.testing.ts';
import { parseNetflowBatches } from '../src/ingest/netflow/index.ts';

const run = promisify(execFile);
const repeat = Number(process.argv[2] ?? 10);

async function* repeated(buf: Buffer, times: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < times; i++)
    for (let p = 0; p < buf.length; p += 1 << 20) yield buf.subarray(p, p + (1 << 20));
}

for (const name of ['netflow-v9.bin.gz', 'netflow-v10.bin.gz']) {
  const file = gunzipSync(readFileSync(new URL(`../src/ingest/netflow/testdata/${name}`, import.meta.url)));
  let flows = 0;
  let observations = 0;
  let peak = 0;
  const t0 = process.hrtime.bigint();
  for await (const batch of parseNetflowBatches(repeated(file, repeat))) {
    for (const e of batch) {
      if (e.kind === 'record') flows++;
      else if (e.kind === 'observation') observations++;
    }
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const ours = flows / seconds;
  console.log(
    `${name} x${repeat}: ${flows} flows, ${observations} observations in ${seconds.toFixed(2)} s = ` +
      `${Math.round(ours)} flows/s, peak RSS ${Math.round(peak / 1e6)} MB`,
  );
  if (!(await hasTool('nfcapd'))) {
    console.log('  nfcapd/nfdump not installed: no reference');
    continue;
  }
  const ref = await withNfcapdFiles(datagramsOf(file), async (dir) => {
    const t1 = process.hrtime.bigint();
    const { stdout } = await run('nfdump', ['-R', dir, '-o', 'csv', '-q'], { maxBuffer: 512 * 1024 * 1024 });
    const s = Number(process.hrtime.bigint() - t1) / 1e9;
    return { flows: stdout.split('\n').filter((l) => l.includes(',')).length, seconds: s };
  });
  const theirs = ref.flows / ref.seconds;
  console.log(
    `  nfdump -o csv of the same flows: ${ref.flows} flows in ${ref.seconds.toFixed(2)} s = ${Math.round(theirs)} flows/s; ` +
      `ratio ours/nfdump ${(ours / theirs).toFixed(2)} (nfdump only prints; Portcullis also pairs flows and judges listeners)`,
  );
}
