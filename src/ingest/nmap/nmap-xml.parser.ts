import { StringDecoder } from 'node:string_decoder';
import { SaxesParser } from 'saxes';
import { canonicalIp, parsePort } from '../common/address.ts';
import { byteSlices, clip, dateFromEpochSeconds, excerpt } from '../common/text.ts';
import type {
  EvidenceGrade,
  Observation,
  ParseEvent,
  ParseOptions,
  Parser,
  Protocol,
  ServiceDetail,
  SourceKind,
} from '../observation.ts';

/** Deepest element nesting accepted; nmap's own output nests about 6 deep. */
export const NMAP_XML_MAX_DEPTH = 256;
/** Most characters the XML parser may hold for one token (a tag with its attributes, a text run). */
export const NMAP_XML_MAX_TOKEN_CHARS = 8 * 1024 * 1024;
/** Well-formedness errors reported one by one before the rest are only counted. */
const MAX_XML_ERRORS = 20;
const MAX_HOSTNAMES = 32;

interface PortState {
  protocol: string;
  portid: string;
  line: number;
  state?: string;
  reason?: string;
  service?: ServiceDetail;
  banner?: string;
}

interface HostState {
  line: number;
  addresses: string[];
  badAddress?: string;
  down: boolean;
  seenAt: Date | null;
  hostnames: string[];
  skippedPorts: number;
}

class StopParsing extends Error {}

const APPENDED_DOCUMENT_ERRORS =
  /only one root|XML declaration must be at the start|inappropriately located doctype|expected one of standalone|text data outside of root node/;

const PROTOCOLS = new Set<string>(['tcp', 'udp', 'sctp']);

/** How an nmap port state counts as evidence; undefined for states that prove nothing (filtered…). */
export function gradeNmapState(state: string): EvidenceGrade | undefined {
  if (state === 'open') return 'strong';
  if (state === 'closed') return 'negative';
  if (state === 'open|filtered') return 'weak';
  return undefined;
}

function attrs(tag: { attributes: unknown }): Record<string, string> {
  return tag.attributes as Record<string, string>;
}

function serviceOf(a: Record<string, string>): ServiceDetail | undefined {
  const conf = a.conf !== undefined && /^\d{1,2}$/.test(a.conf) ? Number(a.conf) : undefined;
  const s: ServiceDetail = {};
  // nmap's normal output shows an SSL-wrapped service as ssl/<name>; keep that.
  const name = clip(a.name && a.tunnel === 'ssl' ? `ssl/${a.name}` : a.name);
  const product = clip(a.product);
  const version = clip(a.version);
  const extrainfo = clip(a.extrainfo);
  const method = clip(a.method, 32);
  if (name) s.name = name;
  if (product) s.product = product;
  if (version) s.version = version;
  if (extrainfo) s.extrainfo = extrainfo;
  if (method) s.method = method;
  const banner = clip(a.banner);
  if (banner) s.banner = banner;
  if (conf !== undefined) s.conf = conf;
  return Object.keys(s).length > 0 ? s : undefined;
}

/**
 * nmap XML (`-oX`) parser. Streams the document through a SAX parser (saxes: no DTD processing, so no
 * entity expansion), in constant memory: one `record` per `<host>`, one observation per `<port>` of an
 * up host — `open` is strong (UDP `open` only comes from a UDP response), `open|filtered` weak,
 * `closed` negative, `filtered` nothing. Service details, hostnames and the host's start time are kept.
 * Truncated or malformed XML yields an issue with line, column and byte offset; ports completed before
 * the damage are kept.
 */
export const parseNmapXml: Parser = async function* (input, opts) {
  for await (const batch of parseNmapXmlBatches(input, opts)) yield* batch;
};

/**
 * The events of `parseNmapXml`, one array per input slice: for imports of gigabyte files, where one
 * promise per port would cost as much as parsing it.
 */
export async function* parseNmapXmlBatches(
  input: AsyncIterable<Buffer | string>,
  _opts?: ParseOptions,
): AsyncGenerator<ParseEvent[]> {
  const xml = new SaxesParser({ position: true });
  const decoder = new StringDecoder('utf8');
  const out: ParseEvent[] = [];
  const stack: string[] = [];
  let runStart: Date | null = null;
  let scanner: SourceKind = 'nmap';
  const reasons = new Map<string, string>();
  let host: HostState | null = null;
  let port: PortState | null = null;
  let extraDepth = 0;
  let xmlErrors = 0;
  let stopped = false;
  let rootClosed = false;
  let appendedReported = false;
  // Where the current string sits in the input, to turn saxes' character positions into byte offsets.
  let charsBefore = 0;
  let bytesBefore = 0;
  let current = '';
  let lastProgress = 0;

  const byteOffset = (): number => {
    const idx = Math.max(0, Math.min(current.length, xml.position - charsBefore));
    return bytesBefore + Buffer.byteLength(current.slice(0, idx));
  };
  const progress = (): void => {
    lastProgress = xml.position;
  };
  const stop = (message: string): void => {
    if (stopped) return;
    out.push({ kind: 'issue', issue: { message, line: xml.line, offset: byteOffset() } });
    stopped = true;
  };

  const finishPort = (p: PortState): void => {
    const h = host;
    if (!h || h.down) return;
    const protocol = p.protocol;
    if (!PROTOCOLS.has(protocol)) {
      // `-sO` lists IP protocols as protocol="ip"; they are not listeners. Anything else is damage.
      if (protocol !== 'ip') {
        out.push({
          kind: 'issue',
          issue: { message: `nmap XML: <port> with unknown protocol ${excerpt(protocol)}`, line: p.line },
        });
      }
      return;
    }
    const portNo = parsePort(p.portid);
    if (portNo === null) {
      out.push({
        kind: 'issue',
        issue: {
          message: `nmap XML: <port> with invalid portid ${excerpt(p.portid)} (0–65535 expected)`,
          line: p.line,
        },
      });
      return;
    }
    if (p.state === undefined) {
      out.push({
        kind: 'issue',
        issue: { message: `nmap XML: <port portid="${portNo}"> without <state>`, line: p.line },
      });
      return;
    }
    const grade = gradeNmapState(p.state);
    if (!grade) return;
    if (h.addresses.length === 0) {
      h.skippedPorts++;
      return;
    }
    const service = p.banner ? { ...p.service, banner: p.banner } : p.service;
    // Reasons repeat (`nmap open (syn-ack)`): one string each instead of one per port.
    const reasonKey = `${p.state}\u0000${p.reason ?? ''}`;
    let reason = reasons.get(reasonKey);
    if (reason === undefined) {
      reason = p.reason ? `${scanner} ${p.state} (${p.reason})` : `${scanner} ${p.state}`;
      if (reasons.size < 256) reasons.set(reasonKey, reason);
    }
    for (const addr of h.addresses) {
      const o: Observation = {
        host: addr,
        protocol: protocol as Protocol,
        port: portNo,
        source: scanner,
        grade,
        reason,
        seenAt: h.seenAt ?? runStart,
        line: p.line,
      };
      if (h.hostnames.length > 0) o.hostnames = [...h.hostnames];
      if (service) o.service = service;
      out.push({ kind: 'observation', observation: o });
    }
  };

  const finishHost = (h: HostState): void => {
    if (!h.down && h.addresses.length === 0 && (h.skippedPorts > 0 || h.badAddress !== undefined)) {
      const why =
        h.badAddress !== undefined ? `invalid address ${excerpt(h.badAddress)}` : 'no IPv4/IPv6 address';
      out.push({
        kind: 'issue',
        issue: { message: `nmap XML: <host> with ${why}; ${h.skippedPorts} port(s) skipped`, line: h.line },
      });
    }
    out.push({ kind: 'record' });
  };

  // No 'opentagstart' handler: it makes saxes several times slower, and a tag with huge attributes is
  // caught anyway, since its 'opentag' only fires at its end.
  xml.on('comment', progress);
  xml.on('doctype', progress);
  xml.on('processinginstruction', progress);
  xml.on('cdata', progress);
  xml.on('opentag', (tag) => {
    progress();
    const name = tag.name;
    const parent = stack[stack.length - 1];
    stack.push(name);
    if (stack.length > NMAP_XML_MAX_DEPTH) {
      stop(
        `nmap XML: elements nested deeper than ${NMAP_XML_MAX_DEPTH} at line ${xml.line}; parsing stopped`,
      );
      // Unwinds out of saxes' write() so the rest of the chunk is not parsed.
      throw new StopParsing();
    }
    const a = attrs(tag);
    switch (name) {
      case 'nmaprun':
        runStart = dateFromEpochSeconds(a.start);
        // masscan -oX writes nmap's format with scanner="masscan".
        scanner = a.scanner === 'masscan' ? 'masscan' : 'nmap';
        reasons.clear();
        break;
      case 'host':
        if (parent !== 'nmaprun' && parent !== undefined) break;
        host = {
          line: xml.line,
          addresses: [],
          down: false,
          seenAt: dateFromEpochSeconds(a.starttime) ?? dateFromEpochSeconds(a.endtime),
          hostnames: [],
          skippedPorts: 0,
        };
        break;
      case 'status':
        if (host && parent === 'host') host.down = a.state !== undefined && a.state !== 'up';
        break;
      case 'address':
        if (host && parent === 'host' && (a.addrtype === 'ipv4' || a.addrtype === 'ipv6')) {
          const ip = canonicalIp(a.addr ?? '');
          if (ip === null) host.badAddress = a.addr ?? '';
          else if (!host.addresses.includes(ip)) host.addresses.push(ip);
        }
        break;
      case 'hostname':
        if (host && parent === 'hostnames' && a.name && host.hostnames.length < MAX_HOSTNAMES) {
          const n = clip(a.name, 255);
          if (n && !host.hostnames.includes(n)) host.hostnames.push(n);
        }
        break;
      case 'extraports':
        extraDepth++;
        break;
      case 'port':
        if (host && parent === 'ports' && extraDepth === 0) {
          port = { protocol: a.protocol ?? '', portid: a.portid ?? '', line: xml.line };
        }
        break;
      case 'state':
        if (port && parent === 'port') {
          port.state = a.state ?? '';
          port.reason = clip(a.reason, 64);
        }
        break;
      case 'service':
        if (port && parent === 'port') port.service = serviceOf(a);
        break;
      case 'script':
        if (port && parent === 'port' && a.id === 'banner') port.banner = clip(a.output);
        break;
    }
  });
  xml.on('closetag', (tag) => {
    progress();
    stack.pop();
    if (stack.length === 0) rootClosed = true;
    switch (tag.name) {
      case 'port':
        if (port) finishPort(port);
        port = null;
        break;
      case 'extraports':
        if (extraDepth > 0) extraDepth--;
        break;
      case 'host':
        if (host && !stack.includes('host')) {
          finishHost(host);
          host = null;
        }
        break;
    }
  });
  xml.on('error', (err) => {
    if (stopped) return;
    // nmap --append-output writes a second document after the first one's </nmaprun>: read it too,
    // and say so once instead of flagging each of its elements as a second root.
    if (rootClosed && APPENDED_DOCUMENT_ERRORS.test(err.message)) {
      if (!appendedReported) {
        appendedReported = true;
        out.push({
          kind: 'issue',
          issue: {
            message:
              `line ${xml.line} (byte offset ${byteOffset()}): another XML document starts after the end of the ` +
              `first (nmap --append-output?); its hosts are read too`,
            line: xml.line,
            offset: byteOffset(),
          },
        });
      }
      return;
    }
    xmlErrors++;
    if (xmlErrors <= MAX_XML_ERRORS) {
      const what = err.message.replace(/^\d+:\d+: /, '');
      out.push({
        kind: 'issue',
        issue: {
          message: `malformed XML at line ${xml.line}, column ${xml.column + 1} (byte offset ${byteOffset()}): ${what}`,
          line: xml.line,
          offset: byteOffset(),
        },
      });
    }
  });

  const feed = (text: string): void => {
    current = text;
    try {
      xml.write(text);
    } catch (err) {
      if (!(err instanceof StopParsing))
        stop(`nmap XML: parser failed at line ${xml.line}: ${(err as Error).message}`);
    }
    charsBefore += text.length;
    bytesBefore += Buffer.byteLength(text);
    if (!stopped && charsBefore - lastProgress > NMAP_XML_MAX_TOKEN_CHARS) {
      stop(
        `nmap XML: a single tag, attribute or text run longer than ${NMAP_XML_MAX_TOKEN_CHARS} characters ` +
          `at line ${xml.line} (byte offset ${bytesBefore}); parsing stopped`,
      );
    }
  };

  for await (const slice of byteSlices(input)) {
    feed(decoder.write(slice));
    if (out.length > 0) yield out.splice(0);
    if (stopped) return;
  }
  const rest = decoder.end();
  if (rest) feed(rest);
  if (stopped) {
    if (out.length > 0) yield out.splice(0);
    return;
  }

  // End of input: anything still open means the file was cut short.
  const open = [...stack];
  const endLine = xml.line;
  const endOffset = bytesBefore;
  const errorsBefore = xmlErrors;
  xml.off('error');
  const closeErrors: string[] = [];
  xml.on('error', (err) => closeErrors.push(err.message.replace(/^\d+:\d+: /, '')));
  try {
    xml.close();
  } catch (err) {
    closeErrors.push((err as Error).message);
  }
  if (open.length > 0) {
    out.push({
      kind: 'issue',
      issue: {
        message:
          `truncated XML: unexpected end of input at line ${endLine} (byte offset ${endOffset}) inside ` +
          `<${open[open.length - 1]}> (open: ${open.slice(0, 8).join(' > ')}); ports before the cut were kept`,
        line: endLine,
        offset: endOffset,
      },
    });
    if (host) finishHost(host);
  } else if (closeErrors.length > 0 && errorsBefore === 0) {
    const what = closeErrors.includes('document must contain a root element.')
      ? 'no XML element found (empty or not XML)'
      : closeErrors.join('; ');
    out.push({ kind: 'issue', issue: { message: `nmap XML: ${what}`, line: endLine, offset: endOffset } });
  }
  if (xmlErrors > MAX_XML_ERRORS) {
    out.push({
      kind: 'issue',
      issue: { message: `malformed XML: ${xmlErrors - MAX_XML_ERRORS} further XML errors not listed` },
    });
  }
  if (out.length > 0) yield out.splice(0);
}
