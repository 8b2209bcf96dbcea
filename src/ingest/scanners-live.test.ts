// Real nmap and masscan, run during the test against listeners inside two network namespaces this test
// creates (scanner A, target B, joined by a veth pair; nothing else on that network), then parsed.
// Needs root, iproute2, python3 and nmap (masscan is optional); skipped elsewhere.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collectEvents, listenerKeys } from './common/collect.ts';
import { detectFormat } from './detect.ts';
import { parseMasscanJson, parseMasscanList } from './masscan/index.ts';
import { parseNmapGrep, parseNmapNormal, parseNmapXml } from './nmap/index.ts';
import type { FormatName, Parser } from './observation.ts';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const canRun = process.getuid?.() === 0 && has('ip') && has('nmap') && has('python3');
const hasMasscan = canRun && has('masscan');

const NS_A = `ingp${process.pid}a`;
const NS_B = `ingp${process.pid}b`;
const IF_A = `ipa${process.pid}`;
const IF_B = `ipb${process.pid}`;
const A4 = '198.19.213.1';
const B4 = '198.19.213.2';
const A6 = 'fd00:198:19:213::1';
const B6 = 'fd00:198:19:213::2';

// What listens on B — the ground truth every parsed scan must reproduce.
const LISTENER_SCRIPT = `
import socket, sys, threading, time
def serve(fam, addr, port, greeting):
    s = socket.socket(fam)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port)); s.listen(64)
    def loop():
        while True:
            c, _ = s.accept()
            try:
                if greeting: c.sendall(greeting)
            except OSError: pass
            time.sleep(0.05); c.close()
    threading.Thread(target=loop, daemon=True).start()
serve(socket.AF_INET, "${B4}", 2222, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\\r\\n")
serve(socket.AF_INET, "${B4}", 3306, None)
serve(socket.AF_INET, "${B4}", 9090, b"HTTP/1.0 200 OK\\r\\n\\r\\n")
serve(socket.AF_INET, "0.0.0.0", 9443, b"HTTP/1.0 200 OK\\r\\n\\r\\n")
serve(socket.AF_INET6, "${B6}", 11211, b"-ERR\\r\\n")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("${B4}", 514))
print("ready", flush=True)
sys.stdin.read()
`;
const TCP_V4 = [`${B4} tcp/2222`, `${B4} tcp/3306`, `${B4} tcp/9090`, `${B4} tcp/9443`];
const PORTS = '21,2222,3306,9090,9443,9999';

function run(cmd: string, args: string[], timeoutMs = 120_000): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
const inA = (cmd: string, args: string[], timeoutMs?: number) =>
  run('ip', ['netns', 'exec', NS_A, cmd, ...args], timeoutMs);

function teardown(listener: ChildProcess | undefined): void {
  listener?.stdin?.end();
  listener?.kill();
  for (const ns of [NS_A, NS_B]) spawnSync('ip', ['netns', 'del', ns]);
}

async function parseFile(parser: Parser, path: string, format: FormatName) {
  const buf = readFileSync(path);
  assert.equal(detectFormat(buf), format, `detected format of ${path}`);
  return collectEvents(parser, [buf]);
}

describe(
  'parsers on output made by real scanners in a network namespace',
  { skip: !canRun && 'needs root, ip, nmap, python3' },
  () => {
    let listener: ChildProcess | undefined;
    let dir = '';

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'portcullis-scan-'));
      try {
        run('ip', ['netns', 'add', NS_A]);
        run('ip', ['netns', 'add', NS_B]);
        run('ip', ['link', 'add', IF_A, 'type', 'veth', 'peer', 'name', IF_B]);
        run('ip', ['link', 'set', IF_A, 'netns', NS_A]);
        run('ip', ['link', 'set', IF_B, 'netns', NS_B]);
        for (const [ns, ifc, v4, v6] of [
          [NS_A, IF_A, A4, A6],
          [NS_B, IF_B, B4, B6],
        ] as const) {
          run('ip', ['-n', ns, 'addr', 'add', `${v4}/24`, 'dev', ifc]);
          run('ip', ['-n', ns, 'addr', 'add', `${v6}/64`, 'dev', ifc, 'nodad']);
          run('ip', ['-n', ns, 'link', 'set', ifc, 'up']);
          run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
        }
        const child = spawn('ip', ['netns', 'exec', NS_B, 'python3', '-c', LISTENER_SCRIPT], {
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        listener = child;
        await new Promise<void>((resolve, reject) => {
          let err = '';
          child.stderr.on('data', (d: Buffer) => (err += d.toString()));
          child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
          child.on('exit', (code) => reject(new Error(`listener exited (${code}): ${err}`)));
        });
      } catch (err) {
        teardown(listener);
        throw err;
      }
    });

    after(() => {
      teardown(listener);
      rmSync(dir, { recursive: true, force: true });
    });

    it('nmap -sT -oX/-oG/-oN: exactly the IPv4 TCP listeners, closed ports negative', async () => {
      const xml = join(dir, 'tcp.xml');
      const gnmap = join(dir, 'tcp.gnmap');
      const normal = join(dir, 'tcp.nmap');
      inA('nmap', ['-sT', '-n', '-Pn', '-p', PORTS, B4, '-oX', xml, '-oG', gnmap, '-oN', normal]);
      for (const [parser, path, format] of [
        [parseNmapXml, xml, 'nmap-xml'],
        [parseNmapGrep, gnmap, 'nmap-grep'],
        [parseNmapNormal, normal, 'nmap-normal'],
      ] as const) {
        const r = await parseFile(parser, path, format);
        assert.deepEqual(r.issues, []);
        assert.deepEqual(listenerKeys(r.observations), TCP_V4, path);
        assert.deepEqual(listenerKeys(r.observations, 'negative'), [`${B4} tcp/21`, `${B4} tcp/9999`], path);
        // Nothing on A listens: no scanner address or ephemeral port shows up.
        assert.ok(r.observations.every((o) => o.host === B4));
      }
    });

    it('nmap -6 -sT: only the IPv6 listener', async () => {
      const xml = join(dir, 'v6.xml');
      inA('nmap', ['-6', '-sT', '-n', '-Pn', '-p', '2222,9443,11211', B6, '-oX', xml]);
      const r = await parseFile(parseNmapXml, xml, 'nmap-xml');
      assert.deepEqual(r.issues, []);
      assert.deepEqual(listenerKeys(r.observations), [`${B6} tcp/11211`]);
    });

    it('nmap -sU: the silent UDP socket is weak evidence only', async () => {
      const xml = join(dir, 'udp.xml');
      inA('nmap', ['-sU', '-n', '-Pn', '-p', '53,514', B4, '-oX', xml]);
      const r = await parseFile(parseNmapXml, xml, 'nmap-xml');
      assert.deepEqual(r.issues, []);
      assert.deepEqual(listenerKeys(r.observations), []);
      assert.deepEqual(listenerKeys(r.observations, 'weak'), [`${B4} udp/514`]);
      assert.deepEqual(listenerKeys(r.observations, 'negative'), [`${B4} udp/53`]);
    });

    it(
      'masscan -oJ/-oL/-oX: exactly the IPv4 TCP listeners',
      { skip: !hasMasscan && 'masscan not installed' },
      async () => {
        const mac = /link\/ether (\S+)/.exec(run('ip', ['-n', NS_B, 'link', 'show', IF_B]))?.[1];
        assert.ok(mac);
        for (const [flag, parser, format] of [
          ['-oJ', parseMasscanJson, 'masscan-json'],
          ['-oL', parseMasscanList, 'masscan-list'],
          ['-oX', parseNmapXml, 'nmap-xml'],
        ] as const) {
          const out = join(dir, `masscan${flag}`);
          // masscan sends from its own stack: an address of A's subnet that A's kernel does not own.
          inA('masscan', [
            B4,
            `-p${PORTS}`,
            '--show',
            'closed',
            '--adapter',
            IF_A,
            '--adapter-ip',
            '198.19.213.9',
            '--router-mac',
            mac,
            '--wait',
            '1',
            flag,
            out,
          ]);
          const r = await parseFile(parser, out, format);
          assert.deepEqual(r.issues, []);
          assert.deepEqual(listenerKeys(r.observations), TCP_V4, flag);
          assert.deepEqual(
            listenerKeys(r.observations, 'negative'),
            [`${B4} tcp/21`, `${B4} tcp/9999`],
            flag,
          );
        }
      },
    );
  },
);
