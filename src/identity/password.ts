import { hash, verify } from '@node-rs/argon2';
import { badRequest } from '../util/errors.ts';

/** Shortest and longest password accepted (OWASP ASVS 2.1.1/2.1.2: at least 12, at least 64 allowed). */
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 1024;

/** Throws a user error naming the rule a new password breaks. */
export function checkPasswordPolicy(password: string, username?: string): void {
  if (password.length < PASSWORD_MIN)
    throw badRequest(`password: must be at least ${PASSWORD_MIN} characters`);
  if (password.length > PASSWORD_MAX)
    throw badRequest(`password: must be at most ${PASSWORD_MAX} characters`);
  if (username && password.toLowerCase() === username.toLowerCase())
    throw badRequest('password: must not be the username');
}

/** argon2id hash in PHC string form (`$argon2id$v=19$m=19456,t=2,p=1$…`), OWASP's recommended parameters. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, { memoryCost: 19_456, timeCost: 2, parallelism: 1 });
}

// Verified against when the user does not exist, so an unknown username costs as much time as a known one.
let dummyHash: Promise<string> | undefined;

/** Whether `password` matches `passwordHash`; a null hash (token-only user) never matches. */
export async function verifyPassword(passwordHash: string | null, password: string): Promise<boolean> {
  if (!passwordHash) {
    dummyHash ??= hashPassword('portcullis-no-such-user');
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}
