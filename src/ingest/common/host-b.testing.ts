import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { basename } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Host B of the real-tools topology (../shared/fixtures/real-tools/README.md): the TCP listeners on
 * its IPv4 address, and the one on its IPv6 address, as `host tcp/port` keys.
 */
export const HOST_B_TCP_V4 = [
  '198.18.0.2 tcp/2222',
  '198.18.0.2 tcp/3306',
  '198.18.0.2 tcp/9090',
  '198.18.0.2 tcp/9443',
] as const;
export const HOST_B_TCP_V6 = ['fd00:198:18::2 tcp/11211'] as const;

/**
 * Runs `body` with host B rebuilt in a fresh network namespace `<prefix>-<pid>`: 198.18.0.2/24 and fd00:198:18::2/64 on a
 * veth, and the Python `script` (given the argument `60`) listening there once it prints `ready`.
 * Skips the test without root or where namespaces cannot be made; removes the namespace afterwards,
 * also on failure.
 */
export async function withHostB(
  t: TestContext,
  opts: { prefix: string; script: string },
  body: (ns: string) => Promise<void>,
): Promise<void> {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to create a network namespace');
    return;
  }
  const ns = `${opts.prefix}-${process.pid}`;
  const ip = (...args: string[]) => run('ip', args);
  let child: ChildProcess | undefined;
  try {
    try {
      await ip('netns', 'add', ns);
    } catch (err) {
      // A container without CAP_SYS_ADMIN cannot make namespaces: nothing to test here.
      t.skip(`cannot create a network namespace: ${(err as Error).message}`);
      return;
    }
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    await ip('-n', ns, 'link', 'add', 'vB', 'type', 'veth', 'peer', 'name', 'vA');
    await ip('-n', ns, 'addr', 'add', '198.18.0.2/24', 'dev', 'vB');
    await ip('-n', ns, 'addr', 'add', 'fd00:198:18::2/64', 'dev', 'vB', 'nodad');
    await ip('-n', ns, 'link', 'set', 'vB', 'up');
    await ip('-n', ns, 'link', 'set', 'vA', 'up');
    const c = spawn('ip', ['netns', 'exec', ns, 'python3', opts.script, '60'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child = c;
    await new Promise<void>((resolve, reject) => {
      c.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) resolve();
      });
      c.once('exit', (code) => reject(new Error(`${basename(opts.script)} exited with ${code}`)));
    });
    await body(ns);
  } finally {
    child?.kill();
    await ip('netns', 'del', ns).catch(() => undefined);
  }
}
