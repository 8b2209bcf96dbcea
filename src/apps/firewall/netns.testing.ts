import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** Whether this process can create network namespaces and run nft (root with iproute2 and nftables). */
export function canUseNetns(): boolean {
  if (process.getuid?.() !== 0) return false;
  return (
    spawnSync('ip', ['netns', 'list']).status === 0 &&
    spawnSync('nft', ['--version']).status === 0 &&
    spawnSync('ncat', ['--version']).status === 0
  );
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** Runs a command inside a namespace; resolves with its exit code. */
export function nsRun(ns: string, cmd: string[], timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: 'ignore' });
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve(code ?? -1);
    });
  });
}

/** Whether a TCP port answers from inside `fromNs` (`nc -z`, 2 s time limit). */
export async function reachable(fromNs: string | null, addr: string, port: number): Promise<boolean> {
  const cmd = ['nc', '-z', '-w', '2', addr, String(port)];
  if (fromNs) return (await nsRun(fromNs, cmd)) === 0;
  return new Promise((resolve) =>
    spawn(cmd[0]!, cmd.slice(1), { stdio: 'ignore' }).on('close', (c) => resolve(c === 0)),
  );
}

/** Starts `ncat -lk` on addr:port inside a namespace. */
export async function listenIn(ns: string, addr: string, port: number): Promise<ChildProcess> {
  const p = spawn('ip', ['netns', 'exec', ns, 'ncat', '-lk', addr, String(port)], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if ((await nsRun(ns, ['nc', '-z', '-w', '1', addr, String(port)])) === 0) return p;
    await new Promise((r) => setTimeout(r, 50));
  }
  p.kill();
  throw new Error(`ncat did not start listening on ${addr}:${port} in ${ns}`);
}

export interface TestNet {
  /** Namespaces created, to delete at the end. */
  readonly namespaces: string[];
  /** Root-side veth names created (deleted at the end; the peer goes with it). */
  readonly links: string[];
  cleanup(): void;
}

/**
 * Two namespaces `<prefix>a` and `<prefix>b` joined by a veth pair with 198.18.<n>.1 and .2 /24.
 * Names start with `pcauto` (this area's prefix).
 */
export function twoNamespaces(n: number): TestNet & { a: string; b: string; addrA: string; addrB: string } {
  const tag = `pcauto${process.pid % 10000}${n}`;
  const a = `${tag}a`;
  const b = `${tag}b`;
  const net: TestNet & { a: string; b: string; addrA: string; addrB: string } = {
    a,
    b,
    addrA: `198.18.${n}.1`,
    addrB: `198.18.${n}.2`,
    namespaces: [a, b],
    links: [],
    cleanup() {
      for (const ns of this.namespaces) spawnSync('ip', ['netns', 'del', ns]);
    },
  };
  try {
    ip('netns', 'add', a);
    ip('netns', 'add', b);
    ip('link', 'add', `${tag}x`, 'netns', a, 'type', 'veth', 'peer', 'name', `${tag}y`, 'netns', b);
    ip('-n', a, 'addr', 'add', `${net.addrA}/24`, 'dev', `${tag}x`);
    ip('-n', b, 'addr', 'add', `${net.addrB}/24`, 'dev', `${tag}y`);
    for (const [ns, dev] of [
      [a, `${tag}x`],
      [b, `${tag}y`],
    ] as const) {
      ip('-n', ns, 'link', 'set', dev, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
  } catch (e) {
    net.cleanup();
    throw e;
  }
  return net;
}

/**
 * One namespace joined to this (root) namespace by a veth pair on 198.19.<n>.0/30: root side .1,
 * namespace side .2. For tests where code running in this process must reach the namespace.
 */
export function namespaceFromHost(n: number): TestNet & { ns: string; hostAddr: string; nsAddr: string } {
  const tag = `pcauto${process.pid % 10000}${n}`;
  const ns = `${tag}h`;
  const hostDev = `${tag}r`;
  const net: TestNet & { ns: string; hostAddr: string; nsAddr: string } = {
    ns,
    hostAddr: `198.19.${n}.1`,
    nsAddr: `198.19.${n}.2`,
    namespaces: [ns],
    links: [hostDev],
    cleanup() {
      for (const l of this.links) spawnSync('ip', ['link', 'del', l]);
      for (const x of this.namespaces) spawnSync('ip', ['netns', 'del', x]);
    },
  };
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', hostDev, 'type', 'veth', 'peer', 'name', `${tag}n`, 'netns', ns);
    ip('addr', 'add', `${net.hostAddr}/30`, 'dev', hostDev);
    ip('link', 'set', hostDev, 'up');
    ip('-n', ns, 'addr', 'add', `${net.nsAddr}/30`, 'dev', `${tag}n`);
    ip('-n', ns, 'link', 'set', `${tag}n`, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  } catch (e) {
    net.cleanup();
    throw e;
  }
  return net;
}
