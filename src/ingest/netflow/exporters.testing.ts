import { execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** True when `tool` runs here (`-h`/`-V` answered, whatever the exit code). */
export async function hasTool(tool: string, arg = '-h'): Promise<boolean> {
  try {
    await run(tool, [arg]);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** What a real softflowd run exported: the datagrams received and how many it says it sent. */
export interface SoftflowdExport {
  datagrams: Buffer[];
  /** "Flows exported: … in N packets" from softflowd's own statistics. */
  sent: number;
  /** Flow records softflowd says it exported. */
  records: number;
}

/**
 * Runs real `softflowd -r pcap -v version` exporting to `127.0.0.1:port` until it has read the whole
 * capture; returns its own count of datagrams and flow records sent.
 */
export async function runSoftflowd(
  pcap: string,
  version: 5 | 9 | 10,
  port: number,
): Promise<{ sent: number; records: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'pcnf-softflowd-'));
  try {
    const args = ['-r', pcap, '-v', String(version), '-n', `127.0.0.1:${port}`, '-d'];
    // No control socket (given a path, softflowd stays up waiting for commands); a pid file of its own.
    args.push('-c', 'none', '-p', join(dir, 'softflowd.pid'));
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('softflowd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (text += d.toString()));
      // Reading a capture takes seconds; never leave a test (or a softflowd) hanging.
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve(text);
        else reject(new Error(`softflowd exited ${code ?? signal}: ${text}`));
      });
    });
    const m = /Flows exported: \d+ \((\d+) records\) in (\d+) packets/.exec(out);
    if (!m) throw new Error(`no export statistics in softflowd's output: ${out}`);
    return { sent: Number(m[2]), records: Number(m[1]) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * {@link runSoftflowd} exporting to a loopback UDP socket this function opened; returns what arrived.
 * The socket asks for a 4 MiB receive buffer so a whole capture's export (softflowd sends it at full
 * speed when the file ends) fits; the kernel may grant less (`net.core.rmem_max`): compare
 * `datagrams.length` with `sent`.
 */
export async function softflowdExport(pcap: string, version: 5 | 9 | 10): Promise<SoftflowdExport> {
  const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  const datagrams: Buffer[] = [];
  sock.on('message', (m) => datagrams.push(m));
  try {
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    const { sent, records } = await runSoftflowd(pcap, version, sock.address().port);
    // Let the last datagrams be read from the socket.
    for (let i = 0; i < 50 && datagrams.length < sent; i++) await new Promise((r) => setTimeout(r, 20));
    return { datagrams, sent, records };
  } finally {
    sock.close();
  }
}

/** A UDP port free on 127.0.0.1 right now. */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * Sends `datagrams` to a real `nfcapd` on a loopback port, paced so none is dropped, and hands the
 * directory of what it stored to `use` (removed afterwards).
 */
export async function withNfcapdFiles<T>(datagrams: Buffer[], use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'pcnf-nfcapd-'));
  const port = await freeUdpPort();
  // A 4 MiB socket buffer (the kernel may cap it) and paced sends: on a loaded machine nfcapd may
  // still fall behind, so callers compare counts and retry.
  const nfcapd = spawn(
    'nfcapd',
    ['-w', dir, '-p', String(port), '-b', '127.0.0.1', '-B', String(4 * 1024 * 1024)],
    {
      stdio: 'ignore',
    },
  );
  const sender = dgram.createSocket('udp4');
  try {
    // nfcapd is ready once it has made its first working file.
    for (let i = 0; i < 100; i++) {
      const { stdout } = await run('ls', ['-A', dir]);
      if (stdout.trim()) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < datagrams.length; i++) {
      await new Promise<void>((resolve, reject) =>
        sender.send(datagrams[i]!, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
      );
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 3));
    }
    await new Promise((r) => setTimeout(r, 300));
    // SIGTERM makes nfcapd write its file and exit; SIGKILL if it has not after 10 s.
    const exited = new Promise((r) => nfcapd.once('exit', r));
    nfcapd.kill('SIGTERM');
    const kill = setTimeout(() => nfcapd.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(kill);
    return await use(dir);
  } finally {
    sender.close();
    if (nfcapd.exitCode === null) nfcapd.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

/** `nfdump -o csv` of what a real `nfcapd` collected from `datagrams`: the reference decoding. */
export function nfdumpOf(datagrams: Buffer[]): Promise<string> {
  return withNfcapdFiles(datagrams, async (dir) => {
    const { stdout } = await run('nfdump', ['-R', dir, '-o', 'csv'], { maxBuffer: 256 * 1024 * 1024 });
    return stdout;
  });
}

/** The datagrams of a stored-datagram file (4-byte big-endian length, then the datagram). */
export function datagramsOf(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let p = 0; p + 4 <= buf.length;) {
    const len = buf.readUInt32BE(p);
    out.push(buf.subarray(p + 4, p + 4 + len));
    p += 4 + len;
  }
  return out;
}
