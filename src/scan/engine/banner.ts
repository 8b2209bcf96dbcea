import { connect } from 'node:net';

/** Most bytes kept of a banner. */
export const BANNER_MAX_BYTES = 256;

/**
 * Connects once more to an open port and keeps the first bytes the service sends within `timeoutMs`
 * (SSH, SMTP, FTP and the like greet first). Resolves to undefined when nothing came; never rejects.
 */
export function grabBanner(
  host: string,
  port: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const sock = connect({ host, port });
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      sock.destroy();
      resolve(size > 0 ? printableBanner(Buffer.concat(chunks).subarray(0, BANNER_MAX_BYTES)) : undefined);
    };
    const timer = setTimeout(finish, timeoutMs);
    signal?.addEventListener('abort', finish, { once: true });
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      size += d.length;
      // A greeting ends with its first line; stop there or when enough arrived.
      if (size >= BANNER_MAX_BYTES || d.includes(10)) finish();
    });
    sock.on('error', finish);
    sock.on('close', finish);
  });
}

/** Banner bytes as text: printable ASCII kept, trailing newline dropped, anything else as \xNN. */
export function printableBanner(bytes: Buffer): string {
  let s = '';
  for (const b of bytes) {
    if (b >= 0x20 && b < 0x7f && b !== 0x5c) s += String.fromCharCode(b);
    else if (b === 0x5c) s += '\\\\';
    else if (b === 0x0a) s += '\\n';
    else if (b === 0x0d) s += '\\r';
    else if (b === 0x09) s += '\\t';
    else s += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return s.replace(/(\\r)?\\n$/, '');
}

/** Grabs banners of many open ports, a few at a time. */
export async function grabBanners(
  targets: ReadonlyArray<{ host: string; port: number }>,
  opts: { timeoutMs: number; parallel?: number; signal?: AbortSignal },
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let next = 0;
  const lane = async () => {
    while (next < targets.length && !opts.signal?.aborted) {
      const t = targets[next++]!;
      const b = await grabBanner(t.host, t.port, opts.timeoutMs, opts.signal);
      if (b !== undefined) out.set(`${t.host}|${t.port}`, b);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.parallel ?? 64, targets.length) }, lane));
  return out;
}
