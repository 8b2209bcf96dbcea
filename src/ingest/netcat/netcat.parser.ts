import { canonicalIp, parsePort } from '../common/address.ts';
import { readLines } from '../common/lines.ts';
import { excerpt } from '../common/text.ts';
import type { EvidenceGrade, Observation, ParseEvent, Parser, Protocol } from '../observation.ts';

// OpenBSD netcat (`nc -v -z`). With -n the host is the address; without it, netcat-openbsd 1.219
// prints the name and the address in parentheses: `Connection to localhost (127.0.0.1) 22 port …`.
// The BSDs' own netcat (FreeBSD, macOS) puts the word "port" before the number.
const OPENBSD_OK =
  /^Connection to (\S+?)(?: \(([^)\s]+)\))? (?:(\d+) port|port (\d+)) \[(tcp|udp)\/([^\]]*)\] succeeded!\s*$/;
// The prefix is the program's name as run (`nc`, `nc.openbsd`, `netcat`).
const OPENBSD_FAIL =
  /^[\w./-]+: connectx? to (\S+?)(?: \(([^)\s]+)\))? port (\d+) \((tcp|udp)\) failed: (.*)$/;
// ncat (`ncat -v -z`): `Ncat: Connected to 198.18.0.2:2222.`; IPv6 is printed without brackets.
const NCAT_CONNECTED = /^Ncat: Connected to (.+):(\d+)\.\s*$/;
const NCAT_REFUSED = /^Ncat: Connection refused\.\s*$/;
// ncat -vv names the target before trying it.
const NCAT_REQUESTED =
  /^libnsock nsock_connect_(tcp|udp)\(\): (?:TCP|UDP) connection requested to (.+):(\d+) \(IOD/;
const NCAT_NOISE = /^(?:Ncat: |NCAT DEBUG: |libnsock )/;
// macOS nc -v prints its connection details before the result line.
const MACOS_NOISE =
  /^\s*(?:found \d+ (?:associations|connections):?|\d+: flags=.*|outif \S+|(?:src|dst) \S+ port \d+|rank info .*|TCP aux info .*)\s*$/;
// Traditional netcat (`nc.traditional -v -z`): `(UNKNOWN) [10.100.0.1] 22 (ssh) open` and, with
// -vv, `host [10.100.0.1] 23 (telnet) : Connection refused`.
const TRAD = /^(\S+) \[([^\]\s]+)\] (\d+) \(([^)]*)\) (open|: .*)$/;
// Summary and error lines the tools print that carry no port evidence.
const TRAD_NOISE =
  /^(?: sent \d+, rcvd \d+|\S+ \[[^\]]+\] \d+ \([^)]*\) : (?:Connection timed out|No route to host|Network is unreachable).*|Can't parse .*|.*: inverse host lookup failed: .*|no port\[s\] to connect to|nc: .*)\s*$/;

interface NcatTarget {
  host: string;
  port: number;
  protocol: Protocol;
  line: number;
  offset: number;
}

/**
 * Parser for netcat port sweeps: OpenBSD `nc -v -z` (`Connection to H P port [tcp/*] succeeded!`,
 * `nc: connect to H port P (tcp) failed: Connection refused`), `ncat -v -z` (`Ncat: Connected to
 * H:P.`) and traditional netcat (`(UNKNOWN) [H] P (svc) open`, `… : Connection refused`).
 * A success is strong TCP evidence (a UDP "success" proves nothing and is weak); "Connection
 * refused" is negative evidence. ncat's `Connection refused.` names no port: it is attributed only
 * when `-vv` output named the target, else ignored. Timeouts prove nothing and are skipped. Host
 * names without an address cannot be placed (a parser does no DNS) and are reported.
 */
export const parseNetcat: Parser = async function* (input) {
  // ncat prints one run per target: `Version`, then `Connected to` and the byte counts, or an error.
  let ncatTarget: NcatTarget | undefined;
  let ncatConnected: NcatTarget | undefined;

  const obs = (
    t: { host: string; port: number; protocol: Protocol; line: number; offset: number },
    grade: EvidenceGrade,
    reason: string,
    hostnames?: string[],
    serviceName?: string,
  ): ParseEvent => {
    const o: Observation = {
      host: t.host,
      protocol: t.protocol,
      port: t.port,
      source: 'netcat',
      grade,
      reason,
      seenAt: null,
      line: t.line,
      offset: t.offset,
    };
    if (hostnames && hostnames.length) o.hostnames = hostnames;
    if (serviceName && serviceName !== '*' && serviceName !== '?')
      o.service = { name: serviceName, method: 'table' };
    return { kind: 'observation', observation: o };
  };

  const flushNcat = (): ParseEvent | undefined => {
    const t = ncatConnected;
    ncatConnected = undefined;
    if (!t) return undefined;
    return obs(
      t,
      t.protocol === 'udp' ? 'weak' : 'strong',
      t.protocol === 'udp' ? 'ncat udp connected' : 'ncat connected',
    );
  };

  for await (const ln of readLines(input, { maxLineBytes: 64 * 1024 })) {
    yield { kind: 'record' };
    const where = { line: ln.line, offset: ln.offset };
    if (ln.tooLong || ln.binary) {
      yield {
        kind: 'issue',
        issue: {
          ...where,
          message: ln.tooLong
            ? 'line too long for netcat output; skipped'
            : 'binary data (not netcat output) skipped',
        },
      };
      continue;
    }
    const text = ln.text;
    if (text.trim() === '') continue;

    // Resolves `name` / `(address)` pairs into a canonical address, or reports the line.
    const place = (
      shown: string,
      paren: string | undefined,
    ): { host: string; hostnames?: string[] } | string => {
      if (paren !== undefined) {
        const ip = canonicalIp(paren);
        if (ip) return canonicalIp(shown) ? { host: ip } : { host: ip, hostnames: [shown] };
        return `address ${excerpt(paren)} is not an IP address`;
      }
      const ip = canonicalIp(shown);
      if (ip) return { host: ip };
      return `host name ${excerpt(shown)} is not an IP address and the line gives none (run netcat with -n)`;
    };

    let m = OPENBSD_OK.exec(text);
    if (m) {
      const p = place(m[1]!, m[2]);
      const portText = m[3] ?? m[4]!;
      const port = parsePort(portText);
      if (typeof p === 'string' || port === null || port === 0) {
        yield {
          kind: 'issue',
          issue: { ...where, message: typeof p === 'string' ? p : `port ${excerpt(portText)} out of range` },
        };
        continue;
      }
      const protocol = m[5] as Protocol;
      yield obs(
        { host: p.host, port, protocol, ...where },
        protocol === 'udp' ? 'weak' : 'strong',
        protocol === 'udp' ? 'nc udp succeeded' : 'nc connect succeeded',
        p.hostnames,
        m[6],
      );
      continue;
    }
    m = OPENBSD_FAIL.exec(text);
    if (m) {
      const reason = m[5]!.trim();
      if (!/^Connection refused$/i.test(reason)) continue; // a timeout or unreachable network proves nothing
      const p = place(m[1]!, m[2]);
      const port = parsePort(m[3]);
      if (typeof p === 'string' || port === null || port === 0) {
        yield {
          kind: 'issue',
          issue: { ...where, message: typeof p === 'string' ? p : `port ${excerpt(m[3]!)} out of range` },
        };
        continue;
      }
      yield obs(
        { host: p.host, port, protocol: m[4] as Protocol, ...where },
        'negative',
        'connection refused',
        p.hostnames,
      );
      continue;
    }
    if (text.startsWith('Ncat: Version ')) {
      const e = flushNcat();
      if (e) yield e;
      ncatTarget = undefined;
      continue;
    }
    m = NCAT_REQUESTED.exec(text);
    if (m) {
      const host = canonicalIp(m[2]!);
      const port = parsePort(m[3]);
      ncatTarget = host && port ? { host, port, protocol: m[1] as Protocol, ...where } : undefined;
      continue;
    }
    m = NCAT_CONNECTED.exec(text);
    if (m) {
      const e = flushNcat();
      if (e) yield e;
      const host = canonicalIp(m[1]!);
      const port = parsePort(m[2]);
      if (!host || !port) {
        yield {
          kind: 'issue',
          issue: {
            ...where,
            message: !host
              ? `${excerpt(m[1]!)} is not an IP address (run ncat with -n)`
              : `port ${excerpt(m[2]!)} out of range`,
          },
        };
        continue;
      }
      const protocol =
        ncatTarget && ncatTarget.host === host && ncatTarget.port === port ? ncatTarget.protocol : 'tcp';
      // Held until the run ends: a UDP "connection" followed by `Connection refused.` was closed.
      ncatConnected = { host, port, protocol, ...where };
      continue;
    }
    if (NCAT_REFUSED.test(text)) {
      if (ncatConnected) {
        // TCP cannot be refused after connecting: this run was a UDP probe answered by ICMP
        // port-unreachable.
        yield obs({ ...ncatConnected, protocol: 'udp' }, 'negative', 'ncat udp refused');
        ncatConnected = undefined;
      } else if (ncatTarget) {
        yield obs({ ...ncatTarget, ...where }, 'negative', 'connection refused');
      }
      ncatTarget = undefined;
      continue;
    }
    if (/^Ncat: \d+ bytes sent, \d+ bytes received/.test(text)) {
      const e = flushNcat();
      if (e) yield e;
      continue;
    }
    if (NCAT_NOISE.test(text)) continue;
    m = TRAD.exec(text);
    if (m) {
      const state = m[5]!;
      const refused = /^: Connection refused\s*$/.test(state);
      if (state !== 'open' && !refused) continue;
      const host = canonicalIp(m[2]!);
      const port = parsePort(m[3]);
      if (!host || !port) {
        yield {
          kind: 'issue',
          issue: {
            ...where,
            message: !host
              ? `address ${excerpt(m[2]!)} is not an IP address`
              : `port ${excerpt(m[3]!)} out of range`,
          },
        };
        continue;
      }
      const hostnames = m[1] !== '(UNKNOWN)' && !canonicalIp(m[1]!) ? [m[1]!] : undefined;
      // Traditional netcat does not say whether -u was used; sweeps are TCP.
      yield refused
        ? obs({ host, port, protocol: 'tcp', ...where }, 'negative', 'connection refused', hostnames)
        : obs({ host, port, protocol: 'tcp', ...where }, 'strong', 'nc open', hostnames, m[4]);
      continue;
    }
    if (TRAD_NOISE.test(text) || MACOS_NOISE.test(text)) continue;
    yield { kind: 'issue', issue: { ...where, message: `not netcat output: ${excerpt(text)}` } };
  }
  const e = flushNcat();
  if (e) yield e;
};
