import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.ts';
import type { Principal } from './token.repository.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The CSRF token of a session: derived from the secret session id, so it needs no storage. */
export const csrfTokenFor = (sessionSecret: string) => sha256(`csrf:${sessionSecret}`);

/** Creates a session; returns the secret for the cookie (shown to the browser only). */
export async function createSession(
  db: Kysely<Database>,
  input: {
    userId: number;
    now: Date;
    maxAgeMs: number;
    restricted: boolean;
    ip: string | null;
    userAgent: string | null;
  },
): Promise<{ id: number; secret: string; expiresAt: Date }> {
  const secret = randomBytes(32).toString('base64url');
  const expiresAt = new Date(input.now.getTime() + input.maxAgeMs);
  const row = await db
    .insertInto('sessions')
    .values({
      user_id: input.userId,
      id_hash: sha256(secret),
      created_at: input.now,
      last_seen_at: input.now,
      expires_at: expiresAt,
      restricted: input.restricted,
      ip: input.ip,
      user_agent: input.userAgent?.slice(0, 300) ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, secret, expiresAt };
}

/**
 * The principal of a session cookie, or null if unknown, revoked, past its absolute end, idle for
 * longer than `idleMs`, or its user is disabled. A valid session's idle clock restarts.
 */
export async function findPrincipalBySession(
  db: Kysely<Database>,
  secret: string,
  opts: { now: Date; idleMs: number },
): Promise<(Principal & { restricted: boolean }) | null> {
  const row = await db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select([
      's.id as session_id',
      's.expires_at',
      's.last_seen_at',
      's.revoked_at',
      's.restricted',
      'u.id as user_id',
      'u.username',
      'u.role',
      'u.disabled',
    ])
    .where('s.id_hash', '=', sha256(secret))
    .executeTakeFirst();
  if (!row || row.revoked_at || row.disabled) return null;
  const now = opts.now.getTime();
  if (row.expires_at.getTime() <= now) return null;
  if (row.last_seen_at.getTime() + opts.idleMs <= now) return null;
  await db.updateTable('sessions').set({ last_seen_at: opts.now }).where('id', '=', row.session_id).execute();
  return {
    userId: row.user_id,
    username: row.username,
    role: row.role,
    tokenId: null,
    tokenKind: null,
    sessionId: row.session_id,
    restricted: row.restricted,
  };
}

export async function revokeSession(db: Kysely<Database>, id: number, now: Date): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .execute();
}

/** Logout everywhere: revokes every open session of a user (optionally all but one). Returns how many. */
export async function revokeUserSessions(
  db: Kysely<Database>,
  userId: number,
  now: Date,
  exceptId?: number,
): Promise<number> {
  let q = db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** The browser session cookie (HttpOnly) and the CSRF cookie the web UI echoes in `x-csrf-token`. */
export const SESSION_COOKIE = '__Host-portcullis_session';
export const CSRF_COOKIE = '__Host-portcullis_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** Deletes sessions that ended more than a day ago (kept that long for the audit trail's sake). */
export async function pruneSessions(db: Kysely<Database>, now: Date): Promise<void> {
  const cutoff = new Date(now.getTime() - 86_400_000);
  await db
    .deleteFrom('sessions')
    .where((eb) => eb.or([eb('expires_at', '<', cutoff), eb('revoked_at', '<', cutoff)]))
    .execute();
}
