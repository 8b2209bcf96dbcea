import type { FormatName, Parser } from './observation.ts';
import { parseNmapGrep, parseNmapNormal, parseNmapXml } from './nmap/index.ts';
import { parseMasscanJson, parseMasscanList } from './masscan/index.ts';
import { parseNetcat } from './netcat/index.ts';
import { parseStream } from './stream/index.ts';
import { parseZeekConn, parseZeekKnownServices } from './zeek/index.ts';
import { parseOsquery } from './osquery/index.ts';
import { parseSs } from './ss/index.ts';
import { parsePcap } from './pcap/index.ts';
import { parseNetflow } from './netflow/index.ts';

export { detectFormat, DETECT_HEAD_BYTES } from './detect.ts';

/**
 * The parser of every input format. Each format's folder (`src/ingest/<format>/`) exports its parser,
 * added here with one line.
 */
export const PARSERS: Partial<Record<FormatName, Parser>> = {
  'nmap-xml': parseNmapXml,
  'nmap-grep': parseNmapGrep,
  'nmap-normal': parseNmapNormal,
  'masscan-json': parseMasscanJson,
  'masscan-list': parseMasscanList,
  netcat: parseNetcat,
  stream: parseStream,
  'zeek-conn': parseZeekConn,
  'zeek-known-services': parseZeekKnownServices,
  osquery: parseOsquery,
  ss: parseSs,
  netflow: parseNetflow,
  pcap: parsePcap,
};

/** Every format name, for `--format` help and validation. */
export const FORMAT_NAMES: readonly FormatName[] = [
  'nmap-xml',
  'nmap-grep',
  'nmap-normal',
  'masscan-json',
  'masscan-list',
  'netcat',
  'stream',
  'zeek-conn',
  'zeek-known-services',
  'osquery',
  'ss',
  'netflow',
  'pcap',
];
