import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from './errors.ts';

// Secrets kept at rest (asset credentials, TOTP seeds) are sealed with AES-256-GCM under one key, bound
// by their associated data to the record and field they belong to (a sealed value copied elsewhere does
// not open).

/** File under the data dir holding the key that encrypts stored secrets. */
export const SECRET_KEY_FILE = 'secret.key';

/**
 * The 32-byte key for stored secrets: `PORTCULLIS_SECRET_KEY` (64 hex characters or base64 of 32
 * bytes) if given, else `<dataDir>/secret.key` (mode 0600), generated on first use.
 */
export function loadSecretKey(dataDir: string, fromEnv?: string): Buffer {
  if (fromEnv) return parseKey(fromEnv, 'PORTCULLIS_SECRET_KEY');
  const path = join(dataDir, SECRET_KEY_FILE);
  if (existsSync(path)) {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) chmodSync(path, 0o600);
    return parseKey(readFileSync(path, 'utf8').trim(), path);
  }
  const key = randomBytes(32);
  writeFileSync(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}

const keys = new Map<string, Buffer>();

/** `loadSecretKey` for a configuration (`dataDir`, `secretKey`), read once per process. */
export function secretKeyFor(config: { dataDir: string; secretKey?: string | undefined }): Buffer {
  const id = `${config.dataDir}\0${config.secretKey ?? ''}`;
  let key = keys.get(id);
  if (!key) {
    key = loadSecretKey(config.dataDir, config.secretKey);
    keys.set(id, key);
  }
  return key;
}

function parseKey(text: string, where: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32)
    throw new AppError(
      'secret_key_invalid',
      `${where}: the secret key must be 32 bytes, as 64 hex characters or base64`,
      {
        kind: 'operational',
      },
    );
  return key;
}

/** Encrypts one secret value with AES-256-GCM: `v1.<iv>.<tag>.<ciphertext>` in base64url. */
export function encryptSecret(key: Buffer, plaintext: string, aad: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return [
    'v1',
    iv.toString('base64url'),
    c.getAuthTag().toString('base64url'),
    ct.toString('base64url'),
  ].join('.');
}

/** Whether a stored value was made by `encryptSecret` (and is not, say, a legacy plaintext value). */
export function isSealed(value: string): boolean {
  return value.startsWith('v1.') && value.split('.').length === 4;
}

/** Decrypts a value made by `encryptSecret`; the same `aad` (record and field) must be given. */
export function decryptSecret(key: Buffer, sealed: string, aad: string): string {
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== 'v1')
    throw new AppError('secret_corrupt', 'a stored secret is not in the expected format', {
      kind: 'operational',
    });
  try {
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(parts[1]!, 'base64url'));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(Buffer.from(parts[2]!, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(parts[3]!, 'base64url')), d.final()]).toString('utf8');
  } catch (e) {
    throw new AppError(
      'secret_undecryptable',
      'a stored secret cannot be decrypted: the secret key (PORTCULLIS_SECRET_KEY or <data dir>/secret.key) is not the one it was stored with',
      { kind: 'operational', cause: e },
    );
  }
}
