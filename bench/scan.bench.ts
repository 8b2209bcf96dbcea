// The built-in connect scan against nmap -sT -T4, both run from one network namespace at listeners in
// another, in the same run: (1) all 65535 ports of one host, (2) 256 hosts x 100 ports. Each side runs
// as a fresh process (our engine in `node`, with its start-up), alternating, and the median wall time
// of each is compared. Both must find the same open ports. Needs root, iproute2, nmap and python3.
// Our side runs as JavaScript bundled before timing (as the CLI runs from its bundle), so what is timed
// is Node's start-up and the scan, not compiling TypeScript.
// Run: node --import tsx bench/scan.bench.ts [rounds]
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const rounds = Number(process.argv[2] ?? 3);
const A = 'pcscan-bench-a';
const B = 'pcscan-bench-b';
const TARGET = '198.18.60.2';
const NET256 = '198.18.61';
const RUNNER_SOURCE = fileURLToPath(new URL('../src/scan/testdata/run-connect-scan.ts', import.meta.url));
const RUNNER = fileURLToPath(
  new URL(`../dist/bench-scan-${process.pid}/run-connect-scan.mjs`, import.meta.url),
);

/** Bundles the runner; `import.meta.url` keeps pointing at each source (the engine finds its worker so). */
async function bundleRunner(): Promise<void> {
  await build({
    entryPoints: [RUNNER_SOURCE],
    outfile: RUNNER,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
    plugins: [
      {
        name: 'source-import-meta-url',
        setup(b) {
          b.onLoad({ filter: /\.ts$/ }, (args) => {
            const rel = relative(dirname(RUNNER), args.path).split('\\').join('/');
            const text = readFileSync(args.path, 'utf8');
            return {
              contents: text.replaceAll(
                'import.meta.url',
                `new URL(${JSON.stringify(rel)}, import.meta.url).href`,
              ),
              loader: 'ts',
            };
          });
        },
      },
    ],
  });
}

if (
  process.getuid?.() !== 0 ||
  spawnSync('sh', ['-c', 'command -v nmap && command -v ip && command -v python3']).status !== 0
) {
  console.log('scan bench skipped: needs root, nmap, iproute2 and python3');
  process.exit(0);
}

const { NODE_TEST_CONTEXT: _ctx, ...childEnv } = process.env;
const sh = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, {
    encoding: 'utf8',
    env: childEnv,
    maxBuffer: 256 * 1024 * 1024,
    ...(input ? { input } : {}),
  });

function setup(): ChildProcess {
  teardown();
  sh('ip', ['netns', 'add', A]);
  sh('ip', ['netns', 'add', B]);
  sh('ip', ['link', 'add', 'pcsbencha', 'netns', A, 'type', 'veth', 'peer', 'name', 'pcsbenchb', 'netns', B]);
  sh('ip', ['-n', A, 'addr', 'add', '198.18.60.1/24', 'dev', 'pcsbencha']);
  sh('ip', ['-n', B, 'addr', 'add', `${TARGET}/24`, 'dev', 'pcsbenchb']);
  // 256 target addresses on one interface, reached through one route.
  const batch = Array.from({ length: 256 }, (_, i) => `address add ${NET256}.${i}/32 dev pcsbenchb`).join(
    '\n',
  );
  sh('ip', ['-n', B, '-batch', '-'], batch);
  for (const ns of [A, B]) sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  sh('ip', ['-n', A, 'link', 'set', 'pcsbencha', 'up']);
  sh('ip', ['-n', B, 'link', 'set', 'pcsbenchb', 'up']);
  sh('ip', ['-n', A, 'route', 'add', `${NET256}.0/24`, 'dev', 'pcsbencha']);
  const ports = new Set<number>([22, 80]);
  while (ports.size < 11) ports.add(1024 + Math.floor(Math.random() * 64000));
  const py = [
    'import socket, time',
    'socks = []',
    `for p in ${JSON.stringify([...ports])}:`,
    '    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
    "    s.bind(('0.0.0.0', p)); s.listen(4096); s.setblocking(False); socks.append(s)",
    "print('ready', flush=True)",
    // accept and close, so repeated scans never fill the accept queue
    'import select',
    'while True:',
    '    r, _, _ = select.select(socks, [], [])',
    '    for s in r:',
    '        try:',
    '            while True: s.accept()[0].close()',
    '        except BlockingIOError: pass',
  ].join('\n');
  const l = spawn('ip', ['netns', 'exec', B, 'python3', '-c', py], { stdio: ['ignore', 'pipe', 'inherit'] });
  return l;
}

function teardown(): void {
  for (const ns of [A, B]) {
    const pids =
      spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout?.split(/\s+/).filter(Boolean) ?? [];
    for (const pid of pids) spawnSync('kill', ['-9', pid]);
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

function timed<T>(fn: () => T): { ms: number; value: T } {
  const t = performance.now();
  const value = fn();
  return { ms: performance.now() - t, value };
}

function nmapOpen(args: string[]): string[] {
  const out = sh('ip', ['netns', 'exec', A, 'nmap', '-sT', '-T4', '-n', '-Pn', '-oG', '-', ...args]);
  const found: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^Host: (\S+) .*Ports: (.*?)(\tIgnored|$)/.exec(line);
    if (!m) continue;
    for (const f of m[2]!.split(', ').map((p) => p.split('/')))
      if (f[1] === 'open') found.push(`${m[1]}:${f[0]}`);
  }
  return found.sort();
}

function oursOpen(hosts: string[], ports: string): { open: string[]; scanMs: number; engine: string } {
  const arg = JSON.stringify({ hosts: hosts.map((address) => ({ address, family: 4 })), ports });
  const out = JSON.parse(sh('ip', ['netns', 'exec', A, process.execPath, RUNNER, arg])) as {
    results: Array<{ host: string; port: number; state: string }>;
    durationMs: number;
    engine: string;
  };
  return {
    engine: out.engine,
    open: out.results
      .filter((r) => r.state === 'open')
      .map((r) => `${r.host}:${r.port}`)
      .sort(),
    scanMs: out.durationMs,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function compare(name: string, nmapArgs: string[], hosts: string[], ports: string): boolean {
  const nm: number[] = [];
  const ours: number[] = [];
  const engine: number[] = [];
  let engineName = '';
  let same = true;
  for (let i = 0; i < rounds; i++) {
    const n = timed(() => nmapOpen(nmapArgs));
    const o = timed(() => oursOpen(hosts, ports));
    nm.push(n.ms);
    ours.push(o.ms);
    engine.push(o.value.scanMs);
    engineName = o.value.engine;
    if (n.value.join() !== o.value.open.join()) {
      same = false;
      console.log(
        `  round ${i + 1}: open sets differ: nmap ${n.value.length} [${n.value.slice(0, 5)}…], ours ${o.value.open.length} [${o.value.open.slice(0, 5)}…]`,
      );
    } else if (i === 0) console.log(`  both find ${n.value.length} open ports`);
  }
  const ratio = median(ours) / median(nm);
  console.log(
    `${name}: nmap -sT -T4 ${(median(nm) / 1000).toFixed(2)} s, ours ${(median(ours) / 1000).toFixed(2)} s ` +
      `(${engineName} engine; scan itself ${(median(engine) / 1000).toFixed(2)} s, rest is node start-up) -> ratio ours/nmap ${ratio.toFixed(2)} ` +
      `(median of ${rounds}; goal <= 1.0)${same ? '' : ' OPEN SETS DIFFER'}`,
  );
  return same;
}

await bundleRunner();
const listeners = setup();
let ok = true;
try {
  await new Promise<void>((resolve, reject) => {
    listeners.stdout!.once('data', () => resolve());
    listeners.once('exit', (c) => reject(new Error(`listeners exited (${c})`)));
  });
  ok = compare('full range, 1 host x 65535 ports', ['-p-', TARGET], [TARGET], '-') && ok;
  const hosts = Array.from({ length: 256 }, (_, i) => `${NET256}.${i}`);
  ok = compare('256 hosts x 100 ports', ['-p', '1-100', `${NET256}.0/24`], hosts, '1-100') && ok;
} finally {
  listeners.kill('SIGKILL');
  teardown();
  rmSync(dirname(RUNNER), { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
