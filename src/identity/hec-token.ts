import type { Kysely } from 'kysely';
import type { Database } from '../store/index.ts';
import { findPrincipalByToken, touchToken, type Principal } from './token.repository.ts';

/**
 * For HEC routes (`Authorization: Splunk <token>`): the principal of a token allowed to ingest, or
 * null. Accepted: any live `hec` token, and `api` tokens of admin and automation users (scripts that
 * already hold one need no second token). HEC tokens are refused everywhere else.
 */
export async function authenticateHecToken(
  db: Kysely<Database>,
  token: string,
  now: Date = new Date(),
): Promise<Principal | null> {
  if (!token) return null;
  const p = await findPrincipalByToken(db, token, now);
  if (!p) return null;
  if (p.tokenKind !== 'hec' && p.role !== 'admin' && p.role !== 'automation') return null;
  if (p.tokenId !== null) void touchToken(db, p.tokenId).catch(() => {});
  return p;
}
