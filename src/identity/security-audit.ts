import type { Kysely } from 'kysely';
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

/** Records a security event in the shared audit log (category `security`). */
export async function recordSecurityEvent(db: Kysely<Database>, event: SecurityEvent): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      category: 'security',
      action: event.action,
      actor: event.actor,
      object_type: event.objectType ?? '',
      object_id: event.objectId === undefined || event.objectId === null ? null : String(event.objectId),
      container_id: null,
      details: JSON.stringify(event.details ?? {}),
    })
    .execute();
}
