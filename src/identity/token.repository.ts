import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.ts';
import type { Role } from './identity.table.ts';

/** A token's public face: never the token itself. */
export interface TokenInfo {
  id: number;
  user_id: number;
  username: string;
  name: string;
  kind: 'api' | 'hec';
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

/** Who a request acts as, once authenticated. */
export interface Principal {
  userId: number;
  username: string;
  role: Role;
  tokenId: number | null;
  tokenKind: 'api' | 'hec' | null;
  /** Set when the request came with a browser session cookie instead of a token. */
  sessionId?: number | null;
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** 256 random bits, prefixed so a leaked token is recognisable in secret scanners. */
export function newTokenSecret(kind: 'api' | 'hec'): string {
  return `${kind === 'hec' ? 'pch' : 'pct'}_${randomBytes(32).toString('base64url')}`;
}

export async function createToken(
  db: Kysely<Database>,
  input: { userId: number; name: string; kind: 'api' | 'hec'; expiresAt?: Date | null },
): Promise<{ id: number; token: string }> {
  const token = newTokenSecret(input.kind);
  const row = await db
    .insertInto('api_tokens')
    .values({
      user_id: input.userId,
      name: input.name,
      kind: input.kind,
      token_hash: hashToken(token),
      prefix: token.slice(0, 10),
      expires_at: input.expiresAt ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, token };
}

/** The principal for a presented token, or null if it is unknown, revoked, expired or disabled. */
export async function findPrincipalByToken(
  db: Kysely<Database>,
  token: string,
  now: Date = new Date(),
): Promise<Principal | null> {
  const row = await db
    .selectFrom('api_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select([
      't.id as token_id',
      't.kind',
      't.expires_at',
      't.revoked_at',
      'u.id as user_id',
      'u.username',
      'u.role',
      'u.disabled',
    ])
    .where('t.token_hash', '=', hashToken(token))
    .executeTakeFirst();
  if (!row || row.revoked_at || row.disabled) return null;
  if (row.expires_at && row.expires_at.getTime() <= now.getTime()) return null;
  return {
    userId: row.user_id,
    username: row.username,
    role: row.role,
    tokenId: row.token_id,
    tokenKind: row.kind,
  };
}

export async function touchToken(db: Kysely<Database>, id: number): Promise<void> {
  await db.updateTable('api_tokens').set({ last_used_at: new Date() }).where('id', '=', id).execute();
}

export async function listTokens(db: Kysely<Database>, opts: { userId?: number } = {}): Promise<TokenInfo[]> {
  let q = db
    .selectFrom('api_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select([
      't.id',
      't.user_id',
      'u.username',
      't.name',
      't.kind',
      't.prefix',
      't.created_at',
      't.last_used_at',
      't.expires_at',
      't.revoked_at',
    ])
    .orderBy('t.id');
  if (opts.userId !== undefined) q = q.where('t.user_id', '=', opts.userId);
  return q.execute();
}

/** Revokes a token; returns false if there is no such token. */
export async function revokeToken(db: Kysely<Database>, id: number): Promise<boolean> {
  const r = await db
    .updateTable('api_tokens')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (r.numUpdatedRows > 0n) return true;
  const exists = await db.selectFrom('api_tokens').select('id').where('id', '=', id).executeTakeFirst();
  return Boolean(exists);
}
