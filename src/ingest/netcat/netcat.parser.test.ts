import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { canonicalIp } from '../common/address.ts';
import { collectEvents, listenerKeys } from '../common/collect.ts';
import { HOST_B_TCP_V4, HOST_B_TCP_V6, withHostB } from '../common/host-b.testing.ts';
import { arbitraryIpv4, checkParserProperties } from '../common/parser-properties.ts';
import { parseNetcat } from './netcat.parser.ts';

const data = (name: string): Buffer => readFileSync(new URL(`./testdata/${name}`, import.meta.url));
const parse = (input: string | Buffer | Array<string | Buffer>) =>
  collectEvents(parseNetcat, Array.isArray(input) ? input : [input]);
const run = promisify(execFile);

/** stderr then stdout of a command, whatever its exit code (netcat exits 1 when a port is closed). */
async function both(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(cmd, args, { timeout: 20_000 });
    return stderr + stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return (e.stderr ?? '') + (e.stdout ?? '');
  }
}

describe('netcat parser on real tool output', () => {
  it('OpenBSD nc -v -z: the four listeners of 198.18.0.2, port 21 refused', async () => {
    const r = await parse(data('nc-openbsd.txt'));
    assert.deepEqual(r.issues, []);
    // Ground truth (real-tools README): 2222, 3306, 9090, 9443 listen on 198.18.0.2; 21 does not.
    assert.deepEqual(listenerKeys(r.observations), [...HOST_B_TCP_V4]);
    assert.deepEqual(listenerKeys(r.observations, 'negative'), ['198.18.0.2 tcp/21']);
    assert.equal(r.records, 5);
    const o = r.observations.find((x) => x.port === 2222)!;
    assert.equal(o.source, 'netcat');
    assert.equal(o.reason, 'nc connect succeeded');
    assert.equal(o.line, 2);
    assert.equal(o.offset, 67); // the first line is 66 characters plus its newline
    assert.equal(o.seenAt, null);
  });

  it('ncat -v -z: 2222 and 9090 listen; the refusal of 9999 names no port and is ignored', async () => {
    const r = await parse(data('ncat.txt'));
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), ['198.18.0.2 tcp/2222', '198.18.0.2 tcp/9090']);
    assert.equal(r.observations.length, 2);
    assert.equal(r.observations[0]!.line, 2);
  });

  it('OpenBSD nc without -n: the address in parentheses is the host, the name is kept', async () => {
    const r = await parse(data('nc-openbsd-names.txt'));
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), ['127.0.0.1 tcp/47001', '::1 tcp/47001']);
    assert.deepEqual(listenerKeys(r.observations, 'negative'), ['127.0.0.1 tcp/47002', '::1 tcp/47002']);
    assert.deepEqual(r.observations[0]!.hostnames, ['localhost']);
    assert.equal(r.observations[2]!.hostnames, undefined);
  });

  it('traditional netcat: open and refused lines, names kept, summary lines ignored', async () => {
    const r = await parse(data('nc-traditional.txt'));
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), ['127.0.0.1 tcp/47001']);
    assert.equal(r.observations.filter((o) => o.grade === 'strong').length, 3);
    assert.deepEqual(listenerKeys(r.observations, 'negative'), ['127.0.0.1 tcp/47002']);
    assert.deepEqual(r.observations[1]!.hostnames, ['localhost']);
  });

  it('ncat -vv names the refused target; a UDP "connection" refused afterwards is a closed UDP port', async () => {
    const r = await parse(data('ncat-vv.txt'));
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), ['::1 tcp/47001']);
    assert.deepEqual(listenerKeys(r.observations, 'negative'), [
      '127.0.0.1 tcp/47002',
      '127.0.0.1 udp/47003',
    ]);
  });

  it('macOS nc -v: "port N" order, connection details ignored, connectx refusals', async () => {
    const r = await parse(
      [
        'found 0 associations',
        'found 1 connections:',
        '     1: flags=82<CONNECTED,PREFERRED>',
        '\toutif en0',
        '\tsrc 198.18.0.1 port 53330',
        '\tdst 198.18.0.2 port 22',
        '\trank info not available',
        '\tTCP aux info available',
        '',
        'Connection to 198.18.0.2 port 22 [tcp/ssh] succeeded!',
        'nc: connectx to 198.18.0.2 port 23 (tcp) failed: Connection refused',
      ].join('\n'),
    );
    assert.deepEqual(r.issues, []);
    assert.deepEqual(listenerKeys(r.observations), ['198.18.0.2 tcp/22']);
    assert.deepEqual(listenerKeys(r.observations, 'negative'), ['198.18.0.2 tcp/23']);
    assert.equal(r.observations.length, 2);
  });

  it('a host name without an address is reported with its line, other lines kept', async () => {
    const r = await parse(
      'Connection to db.example 22 port [tcp/ssh] succeeded!\nConnection to 198.18.0.2 22 port [tcp/ssh] succeeded!\n',
    );
    assert.equal(r.issues.length, 1);
    assert.equal(r.issues[0]!.line, 1);
    assert.match(r.issues[0]!.message, /db\.example.*not an IP address/);
    assert.deepEqual(listenerKeys(r.observations), ['198.18.0.2 tcp/22']);
    assert.deepEqual(r.observations[0]!.service, { name: 'ssh', method: 'table' });
  });

  it('timeouts prove nothing; unknown lines and binary junk are reported by line', async () => {
    const r = await parse([
      'nc: connect to 198.18.0.2 port 80 (tcp) failed: Connection timed out\n',
      'hello world\n',
      Buffer.from([0x00, 0xff, 0xfe, 0x0a]),
      'Connection to 198.18.0.2 99999 port [tcp/*] succeeded!\n',
      'Connection to 198.18.0.2 2222 port [tcp/*] succeeded!',
    ]);
    assert.deepEqual(
      r.issues.map((i) => i.line),
      [2, 3, 4],
    );
    assert.deepEqual(listenerKeys(r.observations), ['198.18.0.2 tcp/2222']);
    assert.equal(r.observations.length, 1);
  });
});

// Real netcat runs against a listener this test opens on loopback (and a port it closed again).
describe('netcat parser on output made during the test', () => {
  const listen = (host: string): Promise<Server> =>
    new Promise((resolve, reject) => {
      const s = createServer((c) => c.destroy());
      s.once('error', reject);
      s.listen(0, host, () => resolve(s));
    });
  const portOf = (s: Server): number => (s.address() as { port: number }).port;
  const closedPort = async (host: string): Promise<number> => {
    const s = await listen(host);
    const p = portOf(s);
    await new Promise((r) => s.close(r));
    return p;
  };

  it('nc.openbsd, ncat and nc.traditional: the open port is strong, the closed one negative', async (t) => {
    const server = await listen('127.0.0.1');
    try {
      const open = portOf(server);
      const closed = await closedPort('127.0.0.1');
      const outputs: Array<[string, string]> = [];
      if (existsSync('/bin/nc.openbsd'))
        outputs.push([
          'nc.openbsd',
          await both('nc.openbsd', ['-v', '-z', '-n', '-w', '2', '127.0.0.1', String(open), String(closed)]),
        ]);
      if (existsSync('/usr/bin/ncat')) {
        outputs.push(['ncat', await both('ncat', ['-v', '-z', '-n', '-w', '2', '127.0.0.1', String(open)])]);
        outputs.push([
          'ncat -vv',
          await both('ncat', ['-vv', '-z', '-n', '-w', '2', '127.0.0.1', String(closed)]),
        ]);
      }
      if (existsSync('/bin/nc.traditional'))
        outputs.push([
          'nc.traditional',
          await both('nc.traditional', [
            '-vv',
            '-z',
            '-n',
            '-w',
            '2',
            '127.0.0.1',
            String(open),
            String(closed),
          ]),
        ]);
      if (outputs.length === 0) t.skip('no netcat installed');
      for (const [name, out] of outputs) {
        const r = await parse(out);
        assert.deepEqual(r.issues, [], `${name}: ${out}`);
        if (name === 'ncat -vv') {
          assert.deepEqual(listenerKeys(r.observations), [], name);
          assert.deepEqual(listenerKeys(r.observations, 'negative'), [`127.0.0.1 tcp/${closed}`], name);
          continue;
        }
        assert.deepEqual(listenerKeys(r.observations), [`127.0.0.1 tcp/${open}`], `${name}: ${out}`);
        if (name !== 'ncat')
          assert.deepEqual(listenerKeys(r.observations, 'negative'), [`127.0.0.1 tcp/${closed}`], name);
      }
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

// The real-tools topology rebuilt during the test: host B's listeners in a network namespace, swept
// with the real tools from inside it. Ground truth: ../shared/fixtures/real-tools/README.md.
describe('netcat parser on sweeps made in a network namespace during the test', () => {
  it('nc, ncat and traditional nc find exactly the listeners of host B', (t) =>
    withHostB(
      t,
      { prefix: 'ingp2-nc', script: fileURLToPath(new URL('./testdata/target.py', import.meta.url)) },
      async (ns) => {
        const inNs = (cmd: string, ...args: string[]) => both('ip', ['netns', 'exec', ns, cmd, ...args]);
        const ports = ['21', '2222', '3306', '9090', '9443'];
        let out = await inNs('nc.openbsd', '-v', '-z', '-n', '-w', '1', '198.18.0.2', ...ports);
        out += await inNs(
          'nc.openbsd',
          '-6',
          '-v',
          '-z',
          '-n',
          '-w',
          '1',
          'fd00:198:18::2',
          '2222',
          '11211',
          '9443',
        );
        for (const p of ['2222', '9090', '9999', '11211']) {
          out += await inNs(
            'ncat',
            '-v',
            '-z',
            '-n',
            '-w',
            '1',
            p === '11211' ? 'fd00:198:18::2' : '198.18.0.2',
            p,
          );
        }
        if (existsSync('/bin/nc.traditional'))
          out += await inNs('nc.traditional', '-vv', '-z', '-n', '-w', '1', '198.18.0.2', ...ports);
        const r = await parse(out);
        assert.deepEqual(r.issues, [], out);
        assert.deepEqual(listenerKeys(r.observations), [...HOST_B_TCP_V4, ...HOST_B_TCP_V6], out);
        // Bound to IPv4 only, 2222 and 9443 refuse IPv6; 21 has no listener at all.
        assert.deepEqual(
          listenerKeys(r.observations, 'negative'),
          ['198.18.0.2 tcp/21', 'fd00:198:18::2 tcp/2222', 'fd00:198:18::2 tcp/9443'],
          out,
        );
      },
    ));
});

const ipv6 = fc.ipV6().map((s) => canonicalIp(s) ?? '::1');
const target = fc.record({ host: fc.oneof(arbitraryIpv4, ipv6), port: fc.integer({ min: 1, max: 65535 }) });
const line = fc.oneof(
  target.map((t) => ({
    text: `Connection to ${t.host} ${t.port} port [tcp/*] succeeded!`,
    key: `${canonicalIp(t.host)} tcp/${t.port}`,
  })),
  target.map((t) => ({
    text: `(UNKNOWN) [${t.host}] ${t.port} (?) open`,
    key: `${canonicalIp(t.host)} tcp/${t.port}`,
  })),
  target.map((t) => ({
    text: `Ncat: Version 7.93 ( https://nmap.org/ncat )\nNcat: Connected to ${t.host}:${t.port}.\nNcat: 0 bytes sent, 0 bytes received in 0.04 seconds.`,
    key: `${canonicalIp(t.host)} tcp/${t.port}`,
  })),
);
const keysOf = (lines: Array<{ key: string }>) => [...new Set(lines.map((l) => l.key))].sort();

checkParserProperties('netcat parser', parseNetcat, {
  mixed: fc
    .array(
      fc.oneof(
        line.map((l) => ({ ...l, garbage: false })),
        fc
          .constantFrom('garbage here', '}{', '', 'Ncat: TIMEOUT.')
          .map((g) => ({ text: g, key: '', garbage: true })),
      ),
    )
    .map((lines) => ({
      text: lines.map((l) => l.text).join('\n'),
      keys: keysOf(lines.filter((l) => !l.garbage)),
      // Blank lines and Ncat's own chatter are not errors.
      issues: lines.filter((l) => l.text === 'garbage here' || l.text === '}{').length,
    })),
  truncatable: fc
    .array(line, { minLength: 1 })
    .map((lines) => ({ text: lines.map((l) => l.text).join('\n'), keys: keysOf(lines) })),
  hostile: { good: 'Connection to 198.18.0.2 22 port [tcp/*] succeeded!', issueLines: [2, 3] },
});
