import type { Kysely } from 'kysely';
import { recordAudit } from '../audit/index.ts';
import type { Database } from '../store/index.ts';

/** A security event: who did what to which object. Never carries a password, token or secret. */
export interface SecurityEvent {
  /** e.g. `login.success`, `login.failure`, `account.locked`, `token.create`, `user.role`. */
  action: string;
  /** The username acting, or `anonymous` / `system`. */
  actor: string;
  objectType?: string;
  objectId?: string | number | null;
  /** Context such as the client IP, the reason of a failure, old and new role. */
  details?: Record<string, unknown>;
}

/** Records a security event in the shared audit log (category `security`, queryable at `/rest/audit`). */
export async function recordSecurityEvent(db: Kysely<Database>, event: SecurityEvent): Promise<void> {
  await recordAudit(db, {
    category: 'security',
    action: event.action,
    actor: event.actor,
    object_type: event.objectType ?? '',
    object_id: event.objectId ?? null,
    details: event.details ?? {},
  });
}
