import { generateSecret, generateURI, verify } from 'otplib';

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
