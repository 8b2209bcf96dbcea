/** Transport protocol of a listener. */
export type Protocol = 'tcp' | 'udp' | 'sctp';

/**
 * How much an observation proves:
 * - `strong`: the server answered (SYN-ACK seen, nmap/scanner `open`, Stream `tcp_status=0` with
 *   `ack_packets_out>0`, Zeek history with the responder's `h`, `ss` LISTEN on the host itself);
 * - `weak`: suggestive only (UDP `open|filtered`, Stream `ack_packets_in>0` alone); recorded, never
 *   alerted on by itself;
 * - `negative`: evidence that nothing listens (nmap/scanner `closed`, connection refused). Used by the
 *   baseline to notice a listener closing; never creates a service row.
 */
export type EvidenceGrade = 'strong' | 'weak' | 'negative';

/** Where evidence came from. */
export type SourceKind =
  | 'nmap'
  | 'masscan'
  | 'netcat'
  | 'stream'
  | 'zeek'
  | 'osquery'
  | 'ss'
  | 'netflow'
  | 'pcap'
  | 'scan'
  | 'agent';

/** Service details some sources give (nmap -sV, banners, Zeek service field). */
export interface ServiceDetail {
  name?: string;
  product?: string;
  version?: string;
  extrainfo?: string;
  banner?: string;
  /** nmap's detection method and confidence, e.g. `probed`/10 or `table`/3. */
  method?: string;
  conf?: number;
}

/**
 * One piece of evidence that `host` listens (or does not) on `port`/`protocol`.
 * `host` is a canonical IP address: IPv4 dotted quad, IPv6 in RFC 5952 compressed lowercase form.
 */
export interface Observation {
  host: string;
  protocol: Protocol;
  port: number;
  source: SourceKind;
  grade: EvidenceGrade;
  /** Why this counts, e.g. `syn-ack`, `nmap open`, `tcp_status=0 ack_packets_out>0`, `ss LISTEN`. */
  reason: string;
  /** When the evidence was observed, from the record itself; null when the input does not say. */
  seenAt: Date | null;
  /** Name(s) the record gives for the host (nmap hostnames, resolved scan targets). */
  hostnames?: string[];
  service?: ServiceDetail;
  /** 1-based line (text inputs) or byte offset of the record in its input. */
  line?: number;
  offset?: number;
}

/** A problem in the input: what, and where. Parsers report it and go on with the next record. */
export interface ParseIssue {
  message: string;
  /** 1-based line number of the bad record, for line-oriented inputs. */
  line?: number;
  /** Byte offset of the bad record or of the point where parsing stopped. */
  offset?: number;
  /** JSON pointer inside the record, when a field is at fault. */
  pointer?: string;
}

/** What a parser yields, in input order. */
export type ParseEvent =
  | { kind: 'observation'; observation: Observation }
  | { kind: 'issue'; issue: ParseIssue }
  /** One input record read (a host, a line, an event), whatever it produced. */
  | { kind: 'record' };

/** Every input format Portcullis reads. */
export type FormatName =
  | 'nmap-xml'
  | 'nmap-grep'
  | 'nmap-normal'
  | 'masscan-json'
  | 'masscan-list'
  | 'netcat'
  | 'stream'
  | 'zeek-conn'
  | 'zeek-known-services'
  | 'osquery'
  | 'ss'
  | 'netflow'
  | 'pcap';

export interface ParseOptions {
  /** Shown in issues; not read by the parser. */
  file?: string;
  /** The reporting host for host listings (`ss`, `netstat`, osquery without an envelope host). */
  host?: string;
}

/**
 * A parser: a pure, streaming function from the chunks of one input to events. Constant memory on
 * huge inputs; never throws for bad input (it yields `issue` events and keeps every valid record).
 */
export type Parser = (input: AsyncIterable<Buffer | string>, opts: ParseOptions) => AsyncIterable<ParseEvent>;
