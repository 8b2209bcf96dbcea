import type { Kysely } from 'kysely';
import { generateSecret, generateURI, verify } from 'otplib';
import type { Database } from '../store/index.ts';
import { decryptSecret, encryptSecret, isSealed } from '../util/secret-box.ts';

/** A new base32 TOTP secret (160 bits) and the otpauth:// URI an authenticator app scans. */
export function newTotpSecret(username: string): { secret: string; otpauthUrl: string } {
  const secret = generateSecret();
  return { secret, otpauthUrl: generateURI({ issuer: 'Portcullis', label: username, secret }) };
}

/** Whether a 6-digit code is valid for the secret now, allowing one 30 s step of clock drift. */
export async function verifyTotp(secret: string, code: string, now: Date = new Date()): Promise<boolean> {
  if (!/^\d{6}$/.test(code)) return false;
  try {
    const r = await verify({
      secret,
      token: code,
      epoch: Math.floor(now.getTime() / 1000),
      epochTolerance: 30,
    });
    return r.valid;
  } catch {
    return false;
  }
}

const aadOf = (userId: number) => `user:${userId}:totp`;

/** A user's TOTP seed as stored: sealed under the stored-secrets key, bound to that user. */
export function sealTotpSecret(key: Buffer, userId: number, secret: string): string {
  return encryptSecret(key, secret, aadOf(userId));
}

/** A user's TOTP seed from its stored form (a seed stored in plaintext by an older version as is). */
export function openTotpSecret(key: Buffer, userId: number, stored: string): string {
  return isSealed(stored) ? decryptSecret(key, stored, aadOf(userId)) : stored;
}

/** Seals every TOTP seed still stored in plaintext (kept so by older versions); returns how many. */
export async function sealPlaintextTotpSecrets(db: Kysely<Database>, key: Buffer): Promise<number> {
  const rows = await db
    .selectFrom('users')
    .select(['id', 'totp_secret'])
    .where('totp_secret', 'is not', null)
    .where('totp_secret', 'not like', 'v1.%')
    .execute();
  for (const r of rows)
    await db
      .updateTable('users')
      .set({ totp_secret: sealTotpSecret(key, r.id, r.totp_secret!) })
      .where('id', '=', r.id)
      .where('totp_secret', '=', r.totp_secret)
      .execute();
  return rows.length;
}
