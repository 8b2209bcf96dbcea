import { canonicalIp, parsePort } from '../common/address.ts';
import { excerpt } from '../common/text.ts';
import type { Observation, ParseEvent, ParseIssue, Parser, Protocol } from '../observation.ts';
import { isLoopback } from '../osquery/index.ts';
import { LineSplitter, type TextLine } from '../stream/index.ts';

// net-tools prints the local address in a 23-character column unless -W/--wide is given and cuts
// longer IPv6 addresses to fit, keeping the port: such an address may be wrong.
const NETSTAT_ADDR_WIDTH = 23;

const SS_NETIDS: Record<string, Protocol> = { tcp: 'tcp', udp: 'udp', sctp: 'sctp' };
const NETSTAT_PROTOS: Record<string, Protocol> = {
  tcp: 'tcp',
  tcp6: 'tcp',
  udp: 'udp',
  udp6: 'udp',
  udpl: 'udp',
  udpl6: 'udp',
  sctp: 'sctp',
};
const SS_STATES = new Set([
  'LISTEN',
  'UNCONN',
  'ESTAB',
  'SYN-SENT',
  'SYN-RECV',
  'FIN-WAIT-1',
  'FIN-WAIT-2',
  'TIME-WAIT',
  'CLOSE-WAIT',
  'LAST-ACK',
  'CLOSING',
  'CLOSED',
  'UNKNOWN',
]);
const COUNT = /^\d+$/;
const PEER = /^(?:\[[^\]]*\]|[^\s[\]]*):(?:\*|\d{1,5}|[A-Za-z][\w.-]*)$/;

interface Endpoint {
  address: string;
  port: string;
}

/** Splits `addr:port`, `[v6]:port`, `*:port`, netstat's `:::22` and `fd00::2:22` at the port. */
function splitEndpoint(s: string): Endpoint | undefined {
  if (s.startsWith('[')) {
    const close = s.indexOf(']:');
    return close > 0 ? { address: s.slice(1, close), port: s.slice(close + 2) } : undefined;
  }
  const i = s.lastIndexOf(':');
  return i >= 0 ? { address: s.slice(0, i), port: s.slice(i + 1) } : undefined;
}

function isWildcard(address: string): boolean {
  // ss prints `0.0.0.0%eth0` for a wildcard bound to one device (SO_BINDTODEVICE).
  const a = address.replace(/%.*$/, '');
  return a === '*' || a === '0.0.0.0' || a === '::' || a === '';
}

/**
 * Parser for host socket listings: `ss -ltnu` (with its Netid column), `ss -ltn` / `ss -lun`
 * (without it: LISTEN rows are TCP, UNCONN rows UDP) with or without `-p`, and Linux net-tools
 * `netstat -ltnu` / `-ltnup`. TCP LISTEN sockets and unconnected UDP sockets are listeners on the
 * host itself (strong: the kernel says so). A wildcard bind (`0.0.0.0`, `[::]`, `*`, `:::`) is a
 * listener on the reporting host, `opts.host`; without it such rows are skipped with one issue.
 * Loopback binds are not network exposure and are skipped; connected sockets (ESTAB, TIME-WAIT…)
 * are clients and never listeners. Port names (output without `-n`) are reported, not guessed.
 */
export const parseSs: Parser = async function* (input, opts) {
  // A host given by name cannot place wildcard binds; it is named in the issue about them.
  const reporter = opts.host !== undefined ? (canonicalIp(opts.host) ?? undefined) : undefined;
  const hostName = opts.host !== undefined && !reporter ? opts.host : undefined;
  let wildcards = 0;
  let firstWildcard: ParseIssue | undefined;
  let unixSection = false;
  const splitter = new LineSplitter(64 * 1024);

  const lineEvents = (ln: TextLine, out: ParseEvent[]): void => {
    const where = { line: ln.line, offset: ln.offset };
    const text = ln.text.trim();
    if (ln.tooLong || ln.binary) {
      out.push({ kind: 'record' });
      out.push({
        kind: 'issue',
        issue: {
          ...where,
          message: ln.tooLong
            ? 'line too long for ss/netstat output; skipped'
            : 'binary data (not ss/netstat output) skipped',
        },
      });
      return;
    }
    if (text === '') return;
    if (text.startsWith('Active ')) {
      unixSection = !text.startsWith('Active Internet');
      return;
    }
    if (/^(?:Netid|State)\s/.test(text)) {
      unixSection = false; // an ss header: a new listing starts
      return;
    }
    if (unixSection) return;
    if (/^Proto\s/.test(text)) return;
    out.push({ kind: 'record' });
    const t = text.split(/\s+/);
    const bad = (message: string): void => {
      out.push({ kind: 'issue', issue: { ...where, message } });
    };

    let tool: 'ss' | 'netstat';
    let protocol: Protocol | undefined;
    let state: string;
    let local: string;
    let peer: string | undefined;
    const t0 = t[0]!;
    // Sockets without ports: raw IP, ICMP, UNIX, netlink, packet sockets.
    if (/^(?:raw6?|icmp6?|unix|u_\w+|nl|p_raw|p_dgr|v_str|v_dgr|xdp|tipc)$/.test(t0)) return;
    if (t0 in NETSTAT_PROTOS && t.length >= 5 && COUNT.test(t[1]!) && COUNT.test(t[2]!)) {
      tool = 'netstat';
      protocol = NETSTAT_PROTOS[t0];
      local = t[3]!;
      peer = t[4];
      const st = t[5];
      state = protocol === 'udp' ? (st === 'ESTABLISHED' ? 'ESTABLISHED' : 'UNCONN') : (st ?? '');
    } else if (SS_STATES.has(t[1] ?? '') && t.length >= 6 && COUNT.test(t[2]!) && COUNT.test(t[3]!)) {
      tool = 'ss';
      protocol = SS_NETIDS[t0];
      if (!protocol) return; // raw, UNIX and netlink sockets have no ports
      state = t[1]!;
      local = t[4]!;
      peer = t[5];
    } else if (SS_STATES.has(t0) && t.length >= 5 && COUNT.test(t[1]!) && COUNT.test(t[2]!)) {
      tool = 'ss';
      state = t0;
      // Without a Netid column ss was asked for one protocol: LISTEN is TCP, UNCONN is UDP.
      protocol = state === 'LISTEN' ? 'tcp' : state === 'UNCONN' ? 'udp' : undefined;
      local = t[3]!;
      peer = t[4];
    } else {
      bad(`not ss or netstat output: ${excerpt(text)}`);
      return;
    }
    if (peer === undefined || !PEER.test(peer)) {
      bad(`peer address ${excerpt(peer ?? '')} is not address:port (line cut short?)`);
      return;
    }
    const listening =
      tool === 'ss'
        ? state === 'LISTEN' || (state === 'UNCONN' && protocol === 'udp')
        : state === 'LISTEN' || state === 'UNCONN';
    if (!listening || !protocol) return; // connected sockets are not listeners
    const ep = splitEndpoint(local);
    if (!ep) {
      bad(`local address ${excerpt(local)} is not address:port`);
      return;
    }
    const port = parsePort(ep.port);
    if (port === null || port === 0) {
      bad(
        /^[A-Za-z]/.test(ep.port)
          ? `port name ${excerpt(ep.port)} instead of a number (run ${tool} with -n)`
          : `port ${excerpt(ep.port)} is not a port number 1-65535`,
      );
      return;
    }
    let host: string;
    if (isWildcard(ep.address)) {
      if (!reporter) {
        wildcards++;
        firstWildcard ??= { ...where, message: 'wildcard listener and no reporting host' };
        return;
      }
      host = reporter;
    } else {
      const ip = canonicalIp(ep.address);
      if (!ip) {
        bad(`address ${excerpt(ep.address)} is not an IP address${tool === 'ss' ? ' (run ss with -n)' : ''}`);
        return;
      }
      if (tool === 'netstat' && ip.includes(':') && local.length >= NETSTAT_ADDR_WIDTH) {
        bad(`netstat may have cut the address ${excerpt(local)} to fit its column (run netstat with -W)`);
        return;
      }
      if (isLoopback(ip)) return;
      host = ip;
    }
    const o: Observation = {
      host,
      protocol,
      port,
      source: 'ss',
      grade: 'strong',
      reason: state === 'LISTEN' ? `${tool} LISTEN` : `${tool} UNCONN ${protocol}`,
      seenAt: null,
      ...where,
    };
    out.push({ kind: 'observation', observation: o });
  };

  for await (const chunk of input) {
    const out: ParseEvent[] = [];
    for (const ln of splitter.push(chunk)) lineEvents(ln, out);
    yield* out;
  }
  const out: ParseEvent[] = [];
  for (const ln of splitter.end()) lineEvents(ln, out);
  yield* out;
  if (firstWildcard) {
    yield {
      kind: 'issue',
      issue: {
        ...firstWildcard,
        message:
          `${wildcards} wildcard listener(s) (0.0.0.0, [::], *) skipped: no reporting host` +
          (hostName ? ` (the given host ${excerpt(hostName)} is not an IP address)` : '') +
          '; give --host with the address of the host the listing comes from',
      },
    };
  }
};
