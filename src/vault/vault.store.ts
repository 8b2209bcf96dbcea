import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { AppError, badRequest, notFound } from '../util/errors.ts';

/** What the vault needs from the application context: where the data dir is and the size limit. */
export interface VaultContext {
  readonly config: { readonly dataDir: string; readonly vaultMaxBytes: number };
}

/** A stored vault object: its sha256 (the vault id) and its size in bytes. */
export interface VaultObject {
  sha256: string;
  size: number;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** The vault's root directory under the data dir. */
export const vaultRoot = (ctx: VaultContext) => join(ctx.config.dataDir, 'vault');

/** Where the bytes of a vault id live: `<data dir>/vault/ab/cd/abcd…` (sha256, lowercase hex). */
export function vaultPath(ctx: VaultContext, sha256: string): string {
  if (!SHA256.test(sha256))
    throw badRequest(`vault_id: not a sha256 (64 lowercase hex digits): ${JSON.stringify(sha256)}`);
  return join(vaultRoot(ctx), sha256.slice(0, 2), sha256.slice(2, 4), sha256);
}

export const tooLarge = (limit: number) =>
  new AppError(
    'vault_file_too_large',
    `file too large for the vault: the limit is ${limit} bytes (PORTCULLIS_VAULT_MAX_BYTES)`,
    {
      status: 413,
    },
  );

async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * Stores bytes in the content-addressed vault and returns their sha256 and size. The bytes are
 * written to a temporary file, fsynced, then renamed into place (and the directory fsynced), so an
 * acknowledged put survives a crash and a reader never sees a partial file. Storing the same bytes
 * twice keeps one copy. Larger than `vaultMaxBytes` → a 413 error and nothing stored.
 */
export async function putVault(
  ctx: VaultContext,
  data: Buffer | Uint8Array | string | AsyncIterable<Uint8Array>,
): Promise<VaultObject> {
  const limit = ctx.config.vaultMaxBytes;
  const root = vaultRoot(ctx);
  const tmpDir = join(root, 'tmp');
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const tmp = join(tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}`);
  const hash = createHash('sha256');
  let size = 0;
  const fh = await open(tmp, 'wx', 0o600);
  let ok = false;
  try {
    const source: AsyncIterable<Uint8Array> =
      typeof data === 'string' || data instanceof Uint8Array ? Readable.from([Buffer.from(data)]) : data;
    for await (const chunk of source) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += buf.length;
      if (size > limit) throw tooLarge(limit);
      hash.update(buf);
      let off = 0;
      while (off < buf.length) off += (await fh.write(buf, off)).bytesWritten;
    }
    await fh.sync();
    ok = true;
  } finally {
    await fh.close();
    if (!ok) await rm(tmp, { force: true });
  }
  const sha256 = hash.digest('hex');
  const dest = vaultPath(ctx, sha256);
  const dir = join(root, sha256.slice(0, 2), sha256.slice(2, 4));
  try {
    const existing = await stat(dest).catch(() => undefined);
    if (existing && existing.size === size) {
      await rm(tmp, { force: true });
      return { sha256, size };
    }
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await rename(tmp, dest);
    await fsyncDir(dir);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new AppError(
      'vault_write_failed',
      `cannot store a file in the vault (${root}): ${(e as Error).message}`,
      {
        kind: 'operational',
        cause: e,
      },
    );
  }
  return { sha256, size };
}

/** Whether the vault holds bytes under this sha256. */
export async function hasVault(ctx: VaultContext, sha256: string): Promise<boolean> {
  return (await stat(vaultPath(ctx, sha256)).catch(() => undefined)) !== undefined;
}

/** The bytes stored under a sha256 (whole file in memory: use {@link openVault} for large ones). */
export async function getVault(ctx: VaultContext, sha256: string): Promise<Buffer> {
  try {
    return await readFile(vaultPath(ctx, sha256));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`vault file ${sha256}`);
    throw e;
  }
}

/** A read stream over the bytes stored under a sha256, with their size. */
export async function openVault(
  ctx: VaultContext,
  sha256: string,
): Promise<{ stream: ReadStream; size: number }> {
  const p = vaultPath(ctx, sha256);
  const st = await stat(p).catch(() => undefined);
  if (!st) throw notFound(`vault file ${sha256}`);
  return { stream: createReadStream(p), size: st.size };
}
