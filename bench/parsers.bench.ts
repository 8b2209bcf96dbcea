// Parser throughput: nmap XML and masscan JSON generated on the fly (never held in memory), parsed by
// Portcullis' streaming parsers, against a reference measured in the same run on the same bytes — saxes
// with no handlers for XML (the floor our parser sits on) and JSON.parse per line for masscan.
// Run: node --import tsx bench/parsers.bench.ts [MB]   (default 100 MB per format)
import { StringDecoder } from 'node:string_decoder';
import { SaxesParser } from 'saxes';
import { parseMasscanJson } from '../src/ingest/masscan/index.ts';
import { parseNmapXml } from '../src/ingest/nmap/index.ts';
import type { Parser } from '../src/ingest/observation.ts';

const CHUNK_HOSTS = 200;

function nmapHost(i: number): string {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  let ports = '';
  for (let p = 0; p < 10; p++) {
    const state = p % 3 === 0 ? 'open' : 'closed';
    ports +=
      `<port protocol="tcp" portid="${20 + p * 1000}"><state state="${state}" reason="syn-ack" reason_ttl="64"/>` +
      `<service name="http" product="nginx" version="1.22.1" method="probed" conf="10"><cpe>cpe:/a:igor_sysoev:nginx:1.22.1</cpe></service></port>\n`;
  }
  return (
    `<host starttime="1700000000" endtime="1700000100"><status state="up" reason="syn-ack" reason_ttl="64"/>\n` +
    `<address addr="${ip}" addrtype="ipv4"/>\n<hostnames><hostname name="h${i}.example" type="PTR"/></hostnames>\n` +
    `<ports><extraports state="filtered" count="990"><extrareasons reason="no-response" count="990"/></extraports>\n${ports}</ports>\n</host>\n`
  );
}

function masscanLine(i: number): string {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return `{   "ip": "${ip}",   "timestamp": "1700000000", "ports": [ {"port": ${(i % 60000) + 1}, "proto": "tcp", "status": "open", "reason": "syn-ack", "ttl": 64} ] }\n,\n`;
}

async function* generate(
  targetBytes: number,
  head: string,
  item: (i: number) => string,
  tail: string,
): AsyncGenerator<Buffer> {
  let sent = 0;
  let i = 0;
  yield Buffer.from(head);
  while (sent < targetBytes) {
    let s = '';
    for (let k = 0; k < CHUNK_HOSTS; k++) s += item(i++);
    const b = Buffer.from(s);
    sent += b.length;
    yield b;
  }
  yield Buffer.from(tail);
}

interface Figures {
  seconds: number;
  mb: number;
  observations: number;
}

async function timeParser(parser: Parser, input: AsyncIterable<Buffer>): Promise<Figures> {
  let bytes = 0;
  async function* counted() {
    for await (const b of input) {
      bytes += b.length;
      yield b;
    }
  }
  let observations = 0;
  const t0 = process.hrtime.bigint();
  for await (const e of parser(counted(), {})) if (e.kind === 'observation') observations++;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, mb: bytes / 1e6, observations };
}

async function timeSaxesAlone(input: AsyncIterable<Buffer>): Promise<Figures> {
  const xml = new SaxesParser();
  const dec = new StringDecoder('utf8');
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for await (const b of input) {
    bytes += b.length;
    xml.write(dec.write(b));
  }
  xml.close();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, mb: bytes / 1e6, observations: 0 };
}

async function timeJsonParseLines(input: AsyncIterable<Buffer>): Promise<Figures> {
  let bytes = 0;
  let rest = '';
  let n = 0;
  const t0 = process.hrtime.bigint();
  for await (const b of input) {
    bytes += b.length;
    const lines = (rest + b.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) if (l.startsWith('{')) n += (JSON.parse(l) as { ports: unknown[] }).ports.length;
  }
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, mb: bytes / 1e6, observations: n };
}

const rate = (f: Figures) => f.mb / f.seconds;

/** Runs both parser benchmarks over `mb` MB each and prints MB/s, ratios to the references and peak RSS. */
export async function runParserBench(mb = 100): Promise<void> {
  const target = mb * 1e6;
  const XML_HEAD = '<?xml version="1.0"?>\n<!DOCTYPE nmaprun>\n<nmaprun scanner="nmap" start="1700000000">\n';
  const XML_TAIL = '<runstats><finished time="1700000100"/></runstats>\n</nmaprun>\n';
  const nmapRef = await timeSaxesAlone(generate(target, XML_HEAD, nmapHost, XML_TAIL));
  const nmap = await timeParser(parseNmapXml, generate(target, XML_HEAD, nmapHost, XML_TAIL));
  console.log(
    `nmap XML   ${nmap.mb.toFixed(0)} MB: ${rate(nmap).toFixed(1)} MB/s, ${nmap.observations} observations; ` +
      `saxes alone ${rate(nmapRef).toFixed(1)} MB/s; ratio ${(rate(nmap) / rate(nmapRef)).toFixed(2)}`,
  );
  const mref = await timeJsonParseLines(generate(target, '[\n', masscanLine, ']\n'));
  const masscan = await timeParser(parseMasscanJson, generate(target, '[\n', masscanLine, ']\n'));
  console.log(
    `masscan -oJ ${masscan.mb.toFixed(0)} MB: ${rate(masscan).toFixed(1)} MB/s, ${masscan.observations} observations; ` +
      `split+JSON.parse alone ${rate(mref).toFixed(1)} MB/s; ratio ${(rate(masscan) / rate(mref)).toFixed(2)}`,
  );
  console.log(
    `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (constant in the input size)`,
  );
}

await runParserBench(Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 100));
