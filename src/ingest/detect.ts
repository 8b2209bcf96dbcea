import type { FormatName } from './observation.ts';
import { captureKind } from './pcap/index.ts';
import { looksLikeDatagramFile } from './netflow/index.ts';

/** How much of the start of an input `detectFormat` looks at. */
export const DETECT_HEAD_BYTES = 8192;

const LINES_LOOKED_AT = 60;

// Line shapes of the line-oriented formats, from the tools' own output (see the tests for samples).
const NMAP_GREP_HOST =
  /^(?:Timestamp: \d+\t)?Host: \S+ \([^)\t]*\)\t(?:Status|Ports|Port|Protocols|Ignored State|OS|Seq Index|IP ID Seq):/;
const NMAP_HEADER = /^# (?:Nmap|Masscan) \S+ scan initiated /;
const NMAP_NORMAL = /^(?:Nmap scan report for |PORT\s+STATE\s+SERVICE|Not shown: )/;
const MASSCAN_LIST = /^(?:open|closed|banner) (?:tcp|udp|sctp|icmp) \d+ \S+ \d+/;
const ZEEK_CONN_HEADER = /^#(?:path\s+conn$|fields\s.*\bid\.orig_h\s.*\bid\.resp_p\b)/;
const ZEEK_HEADER = /^#(?:separator \S|set_separator|empty_field|unset_field|open|types)\b/;
const ZEEK_OTHER_PATH = /^#path\s+(?!conn$|known_services$)\S+/;
const ZEEK_KNOWN_SERVICES = /^#(?:path\s+known_services$|fields\s.*\bhost\s+port_num\s+port_proto\b)/;
const SS_HEADER = /^(?:Netid\s+)?State\s+Recv-Q\s+Send-Q\s+Local\s+Address:Port\s+Peer\s+Address:Port/;
const SS_ROW =
  /^(?:tcp|udp|sctp|raw|u_str|u_dgr)?\s*(?:LISTEN|UNCONN|ESTAB)\s+\d+\s+\d+\s+\S+:(?:\d+|\*)\s+\S+:(?:\d+|\*)/;
const NETSTAT_HEADER =
  /^(?:Active Internet connections|Proto\s+Recv-Q\s+Send-Q\s+Local Address\s+Foreign Address(?:\s+State)?)/;
const NETSTAT_ROW =
  /^(?:tcp|udp)6?\s+\d+\s+\d+\s+\S+:(?:\d+|\*)\s+\S+:(?:\d+|\*)(?:\s+(?:LISTEN|ESTABLISHED)\b|\s*$)/;
const NETCAT_LINE =
  /^(?:Connection to \S+ \d+ port \[[^\]]*\] succeeded!|Ncat: (?:Connected to |Version |Connection refused|Connection timed out|\d+ bytes sent)|nc: connect to \S+ port \d+ \(\w+\) failed|\S+ \[[^\]]+\] \d+ \([^)]*\) (?:open|: Connection refused)|\S+ \[[^\]]+\] \d+ \([^)]*\) open)/;

/** The text of `head` (at most the first `DETECT_HEAD_BYTES`), without a BOM. */
function headText(head: Buffer | string): string {
  let text =
    typeof head === 'string'
      ? head.slice(0, DETECT_HEAD_BYTES)
      : head.subarray(0, DETECT_HEAD_BYTES).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text;
}

function detectJson(text: string): FormatName | null {
  // Splunk HEC envelopes name their sourcetype; look at it before the fields of the event.
  if (/"sourcetype"\s*:\s*"stream:/.test(text)) return 'stream';
  if (/"id\.orig_h"\s*:/.test(text)) return 'zeek-conn';
  if (/"port_num"\s*:/.test(text) && /"port_proto"\s*:/.test(text)) return 'zeek-known-services';
  // masscan -oJ (quoted keys since 1.0.6, bare keys before) and -oD (ndjson with rec_type).
  if (/^\[?\s*\{\s*"?ip"?\s*:/.test(text) && /"?ports"?\s*:\s*\[/.test(text)) return 'masscan-json';
  if (/"ip"\s*:/.test(text) && /"rec_type"\s*:\s*"(?:status|banner)"/.test(text)) return 'masscan-json';
  if (/"name"\s*:\s*"[^"]*listening_ports[^"]*"/.test(text)) return 'osquery';
  if (
    /"port"\s*:/.test(text) &&
    /"address"\s*:/.test(text) &&
    (/"pid"\s*:/.test(text) || /"protocol"\s*:/.test(text))
  )
    return 'osquery';
  if (/"dest_ip"\s*:/.test(text) && (/"dest_port"\s*:/.test(text) || /"tcp_status"\s*:/.test(text)))
    return 'stream';
  if (/"(?:tcp_status|ack_packets_out)"\s*:/.test(text)) return 'stream';
  return null;
}

/**
 * The format of an input, judged from its first bytes (a few KB are enough), or null when it is none
 * of the formats Portcullis reads. Pure: looks only at `head`.
 */
export function detectFormat(head: Buffer | string): FormatName | null {
  // Binary formats first, by their leading bytes (pcapng's magic is whitespace as text).
  if (typeof head !== 'string' && captureKind(head)) return 'pcap';
  if (typeof head !== 'string' && looksLikeDatagramFile(head)) return 'netflow';
  const text = headText(head);
  const start = text.trimStart();
  if (start === '') return null;
  if (start.startsWith('<')) {
    return /<nmaprun[\s>]/.test(start) || /<!DOCTYPE\s+nmaprun/.test(start) ? 'nmap-xml' : null;
  }
  if (start.startsWith('{') || start.startsWith('[')) {
    const json = detectJson(start);
    if (json) return json;
  }

  const lines = start.split(/\r?\n/, LINES_LOOKED_AT);
  let nmapHeader = false;
  let nmapNormal = false;
  let zeekOther = false;
  let zeekKnown = false;
  const score = new Map<FormatName, number>();
  const vote = (f: FormatName, n = 1) => score.set(f, (score.get(f) ?? 0) + n);
  for (const line of lines) {
    if (NMAP_HEADER.test(line)) nmapHeader = true;
    else if (NMAP_GREP_HOST.test(line)) vote('nmap-grep', 3);
    else if (NMAP_NORMAL.test(line)) nmapNormal = true;
    else if (line === '#masscan') vote('masscan-list', 3);
    else if (MASSCAN_LIST.test(line)) vote('masscan-list');
    else if (ZEEK_CONN_HEADER.test(line)) vote('zeek-conn', 3);
    else if (ZEEK_KNOWN_SERVICES.test(line)) zeekKnown = true;
    else if (ZEEK_OTHER_PATH.test(line)) zeekOther = true;
    else if (ZEEK_HEADER.test(line)) vote('zeek-conn');
    else if (SS_HEADER.test(line) || NETSTAT_HEADER.test(line)) vote('ss', 3);
    else if (SS_ROW.test(line) || NETSTAT_ROW.test(line)) vote('ss');
    else if (NETCAT_LINE.test(line)) vote('netcat');
  }
  let best: FormatName | null = null;
  for (const [f, n] of score) if (best === null || n > (score.get(best) ?? 0)) best = f;
  // Other Zeek logs (dns, http…) share the header lines but are neither conn.log nor known_services.
  if (best === 'zeek-conn' && zeekOther) return null;
  if (zeekKnown && (best === null || best === 'zeek-conn')) return 'zeek-known-services';
  // Normal output (-oN, or a terminal copy): `Nmap scan report for` blocks with their port tables.
  if (nmapNormal && !score.has('nmap-grep')) return 'nmap-normal';
  if (best) return best;
  // A greppable file of a scan that found nothing has only its comment lines.
  if (nmapHeader) return 'nmap-grep';
  return null;
}
