// The connect scan against nmap -sT, both run from one network namespace at listeners in another.
// Needs root, iproute2, nftables, nmap and python3 (as in CI).
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const A = `pcscan-${process.pid}-a`;
const B = `pcscan-${process.pid}-b`;
const VA = `pcs${process.pid}a`.slice(0, 15);
const VB = `pcs${process.pid}b`.slice(0, 15);
const V4 = '198.18.50.2';
const V4_DROP = '198.18.50.3';
const V6 = 'fd00:50::2';
const DROPPED_RANGE = [5000, 5019];
const RUNNER = fileURLToPath(new URL('./testdata/run-connect-scan.ts', import.meta.url));

const haveTools = ['ip', 'nft', 'nmap', 'python3'].every(
  (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0,
);
const isRoot = process.getuid?.() === 0;

// Children must not inherit the test runner's NODE_TEST_CONTEXT (a node child would think it is a
// test file and report to the runner instead of running).
const { NODE_TEST_CONTEXT: _ctx, ...childEnv } = process.env;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv,
    maxBuffer: 64 * 1024 * 1024,
  });
}

function pickPorts(n: number, avoid: Set<number>): number[] {
  const out = new Set<number>();
  while (out.size < n) {
    const p = 1024 + Math.floor(Math.random() * (65535 - 1024));
    if (!avoid.has(p) && (p < DROPPED_RANGE[0]! || p > DROPPED_RANGE[1]!)) out.add(p);
  }
  return [...out].sort((a, b) => a - b);
}

/** Open ports nmap -sT finds, per host, from its grepable output. */
function nmapOpen(args: string[]): Map<string, number[]> {
  const out = sh('ip', ['netns', 'exec', A, 'nmap', '-sT', '-T4', '-n', '-Pn', '-oG', '-', ...args]);
  const map = new Map<string, number[]>();
  for (const line of out.split('\n')) {
    const m = /^Host: (\S+) .*Ports: (.*?)(\tIgnored|$)/.exec(line);
    if (!m) continue;
    const ports = m[2]!
      .split(', ')
      .map((p) => p.split('/'))
      .filter((f) => f[1] === 'open')
      .map((f) => Number(f[0]));
    map.set(
      m[1]!,
      ports.sort((a, b) => a - b),
    );
  }
  return map;
}

interface RunnerOut {
  results: Array<{ host: string; port: number; state: string; reason: string }>;
  counts: { open: number; closed: number; filtered: number };
  done: number;
  total: number;
  engine: string;
  backoff?: { errno: number };
}

/** Our scan from namespace A; `maxFiles` runs it under that descriptor limit (ulimit -n). */
function ourScan(
  hosts: Array<{ address: string; family: 4 | 6 }>,
  ports: string,
  options: Record<string, unknown> = {},
  maxFiles?: number,
): RunnerOut {
  const node = [process.execPath, '--import', 'tsx', RUNNER, JSON.stringify({ hosts, ports, options })];
  const cmd = maxFiles ? ['sh', '-c', `ulimit -n ${maxFiles} && exec "$@"`, 'sh', ...node] : node;
  return JSON.parse(sh('ip', ['netns', 'exec', A, ...cmd])) as RunnerOut;
}

const ENGINES = ['native', 'js'] as const;

const openOf = (r: RunnerOut, host: string) =>
  r.results
    .filter((x) => x.host === host && x.state === 'open')
    .map((x) => x.port)
    .sort((a, b) => a - b);

describe(
  'connect scan vs nmap -sT in network namespaces',
  { skip: !isRoot || !haveTools ? 'needs root, ip, nft, nmap, python3' : false },
  () => {
    let listeners: ChildProcess | undefined;
    const ports4 = pickPorts(9, new Set());
    const ports6 = pickPorts(5, new Set(ports4));
    const portsDrop = [22, 8443];

    before(() => {
      for (const ns of [A, B]) spawnSync('ip', ['netns', 'del', ns]);
      sh('ip', ['netns', 'add', A]);
      sh('ip', ['netns', 'add', B]);
      sh('ip', ['link', 'add', VA, 'netns', A, 'type', 'veth', 'peer', 'name', VB, 'netns', B]);
      sh('ip', ['-n', A, 'addr', 'add', '198.18.50.1/24', 'dev', VA]);
      sh('ip', ['-n', A, 'addr', 'add', 'fd00:50::1/64', 'dev', VA, 'nodad']);
      sh('ip', ['-n', B, 'addr', 'add', `${V4}/24`, 'dev', VB]);
      sh('ip', ['-n', B, 'addr', 'add', `${V4_DROP}/24`, 'dev', VB]);
      sh('ip', ['-n', B, 'addr', 'add', `${V6}/64`, 'dev', VB, 'nodad']);
      for (const ns of [A, B]) sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', A, 'link', 'set', VA, 'up']);
      sh('ip', ['-n', B, 'link', 'set', VB, 'up']);
      // One host that silently drops everything, and a dropped port range on the other.
      const rules = [
        'table inet pcscan {',
        '  chain input {',
        '    type filter hook input priority 0; policy accept;',
        `    ip daddr ${V4_DROP} drop`,
        `    ip daddr ${V4} tcp dport ${DROPPED_RANGE[0]}-${DROPPED_RANGE[1]} drop`,
        '  }',
        '}',
      ].join('\n');
      execFileSync('ip', ['netns', 'exec', B, 'nft', '-f', '-'], { input: rules });
      const binds = [
        ...ports4.map((p) => [V4, p]),
        ...ports6.map((p) => [V6, p]),
        ...portsDrop.map((p) => [V4_DROP, p]),
        [V4, DROPPED_RANGE[0]],
      ];
      const py = [
        'import socket, sys, time, json',
        'socks = []',
        `for host, port in json.loads(${JSON.stringify(JSON.stringify(binds))}):`,
        '    fam = socket.AF_INET6 if ":" in host else socket.AF_INET',
        '    s = socket.socket(fam, socket.SOCK_STREAM)',
        '    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
        '    s.bind((host, port)); s.listen(64); socks.append(s)',
        'print("ready", flush=True)',
        'time.sleep(3600)',
      ].join('\n');
      listeners = spawn('ip', ['netns', 'exec', B, 'python3', '-c', py], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      return new Promise<void>((resolve, reject) => {
        listeners!.stdout!.once('data', () => resolve());
        listeners!.once('exit', (c) => reject(new Error(`listeners exited (${c})`)));
      });
    });

    after(() => {
      listeners?.kill('SIGKILL');
      for (const ns of [A, B]) {
        const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
          .stdout.split(/\s+/)
          .filter(Boolean);
        for (const pid of pids) spawnSync('kill', ['-9', pid]);
        spawnSync('ip', ['netns', 'del', ns]);
      }
    });

    let nmapFull: { v4: Map<string, number[]>; v6: Map<string, number[]> } | undefined;
    for (const engine of ENGINES) {
      it(`${engine} engine: finds exactly the open ports nmap -sT -p- finds, over IPv4 and IPv6`, () => {
        nmapFull ??= { v4: nmapOpen(['-p-', V4]), v6: nmapOpen(['-6', '-p-', V6]) };
        const { v4: nmap4, v6: nmap6 } = nmapFull;
        const ours = ourScan(
          [
            { address: V4, family: 4 },
            { address: V6, family: 6 },
          ],
          '-',
          { engine },
        );
        assert.equal(ours.engine, engine);
        assert.equal(ours.done, 2 * 65535);
        assert.deepEqual(openOf(ours, V4), nmap4.get(V4) ?? []);
        assert.deepEqual(openOf(ours, V6), nmap6.get(V6) ?? []);
        // the ground truth behind both: the listeners this test started (the one in the dropped range hidden)
        assert.deepEqual(openOf(ours, V4), ports4);
        assert.deepEqual(openOf(ours, V6), ports6);
        const filtered4 = ours.results
          .filter((r) => r.host === V4 && r.state === 'filtered')
          .map((r) => r.port);
        assert.deepEqual(
          filtered4,
          Array.from({ length: DROPPED_RANGE[1]! - DROPPED_RANGE[0]! + 1 }, (_, i) => DROPPED_RANGE[0]! + i),
        );
        assert.ok(
          ours.results.filter((r) => r.state === 'filtered').every((r) => r.reason === 'no-response'),
        );
        assert.equal(ours.counts.closed, 2 * 65535 - ports4.length - ports6.length - filtered4.length);
      });

      it(`${engine} engine: reports a silently dropping host as filtered, like nmap`, () => {
        const ports = `1-100,${portsDrop.join(',')}`;
        const nmap = nmapOpen(['--max-retries', '1', '-p', ports, V4_DROP]);
        const ours = ourScan([{ address: V4_DROP, family: 4 }], ports, {
          retries: 1,
          timeoutMs: 300,
          engine,
        });
        assert.equal(ours.engine, engine);
        assert.deepEqual(openOf(ours, V4_DROP), nmap.get(V4_DROP) ?? []);
        assert.equal(ours.counts.filtered, 100 + portsDrop.filter((p) => p > 100).length);
        assert.equal(ours.counts.open + ours.counts.closed, 0);
      });

      it(`${engine} engine: stops when cancelled and keeps what it probed`, () => {
        // A rate limit makes the scan long enough to cancel from inside the runner.
        const out = sh('ip', [
          'netns',
          'exec',
          A,
          process.execPath,
          '--import',
          'tsx',
          '-e',
          `import { connectScan } from ${JSON.stringify(new URL('./engine/connect-scan.ts', import.meta.url).href)};
         const ac = new AbortController();
         const r = await connectScan([{ address: '${V4}', family: 4 }], Array.from({ length: 65535 }, (_, i) => i + 1), { rate: 2000, engine: '${engine}' },
           { signal: ac.signal, onProgress: (p) => { if (p.done > 0) ac.abort(); } });
         console.log(JSON.stringify({ cancelled: r.cancelled, done: r.done, rows: r.results.length, engine: r.engine }));`,
        ]);
        const r = JSON.parse(out.trim().split('\n').at(-1)!) as {
          cancelled: boolean;
          done: number;
          rows: number;
          engine: string;
        };
        assert.equal(r.engine, engine);
        assert.equal(r.cancelled, true);
        assert.ok(r.done > 0 && r.done < 65535, `done ${r.done}`);
        assert.equal(r.rows, r.done);
      });
      it(`${engine} engine: never reports a port of its own host open by connecting to itself`, () => {
        // With nothing listening on the loopback of namespace A, the kernel sometimes picks the target
        // port as the source port of a connect, which then completes with itself (simultaneous open);
        // nmap -sT reports such ports closed, and so must we. Ephemeral ports are where it happens.
        const ours = ourScan([{ address: '127.0.0.1', family: 4 }], '32768-60999', { engine });
        assert.equal(ours.done, 60999 - 32768 + 1);
        assert.deepEqual(openOf(ours, '127.0.0.1'), []);
        assert.equal(ours.counts.closed, ours.done);
      });

      it(`${engine} engine: lets the process exit while a scan still runs`, () => {
        // 200 ports of an address nobody answers, 3 s timeouts and 3 retries: the scan alone would take
        // well over 10 s; the process exits after half a second and must not wait for it.
        const code = `import { connectScan } from ${JSON.stringify(new URL('./engine/connect-scan.ts', import.meta.url).href)};
          setTimeout(() => process.exit(7), 500);
          await connectScan([{ address: '${V4_DROP}', family: 4 }], Array.from({ length: 200 }, (_, i) => i + 1),
            { engine: '${engine}', timeoutMs: 3000, retries: 3 });
          process.exit(0);`;
        const r = spawnSync(
          'ip',
          ['netns', 'exec', A, process.execPath, '--import', 'tsx', '--input-type=module', '-e', code],
          {
            env: childEnv,
            timeout: 10_000,
            encoding: 'utf8',
          },
        );
        assert.equal(r.signal, null, 'the process was still running after 10 s');
        assert.equal(r.status, 7, r.stderr);
      });

      it(`${engine} engine: backs off when descriptors run out, and still probes every port`, () => {
        // 512 connects in flight cannot fit under 100 descriptors (Node itself holds a few dozen).
        const ports = `1-3000,${DROPPED_RANGE.join('-')},${ports4.join(',')}`;
        const ours = ourScan(
          [{ address: V4, family: 4 }],
          ports,
          { engine, concurrency: 512, timeoutMs: 300, retries: 1 },
          100,
        );
        const expectedTotal = new Set([
          ...Array.from({ length: 3000 }, (_, i) => i + 1),
          ...Array.from({ length: 20 }, (_, i) => DROPPED_RANGE[0]! + i),
          ...ports4,
        ]).size;
        assert.equal(ours.engine, engine);
        assert.equal(ours.done, expectedTotal);
        assert.equal(ours.backoff?.errno, 24 /* EMFILE */);
        assert.deepEqual(openOf(ours, V4), ports4);
        assert.equal(ours.counts.filtered, 20 /* the dropped range */);
      });
    }
  },
);
