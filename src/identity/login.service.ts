import { sql, type Kysely } from 'kysely';
import { parseDuration, type Config } from '../config/index.ts';
import type { Database } from '../store/index.ts';
import { AppError } from '../util/errors.ts';
import { verifyPassword } from './password.ts';
import { recordSecurityEvent } from './security-audit.ts';
import { createSession, csrfTokenFor, pruneSessions } from './session.repository.ts';
import { secretKeyFor } from '../util/secret-box.ts';
import { openTotpSecret, verifyTotp } from './totp.ts';
import type { Role } from './identity.table.ts';

export interface LoginInput {
  username: string;
  password: string;
  totp?: string | undefined;
  ip: string | null;
  userAgent: string | null;
}

export interface LoginResult {
  /** Goes into the HttpOnly session cookie and nowhere else. */
  sessionSecret: string;
  csrfToken: string;
  expiresAt: Date;
  user: { id: number; username: string; role: Role };
  /** True when the operator requires TOTP for admins and this admin has none yet: only enrolment is allowed. */
  totpEnrolmentRequired: boolean;
}

const refused = (code = 'login_failed', message = 'wrong username or password') =>
  new AppError(code, message, { status: 401 });

/**
 * Password (and TOTP) login. Every attempt is audited. `loginLockoutThreshold` consecutive failures
 * lock the account for `loginLockoutDuration`; while locked even the right password is refused.
 */
export async function login(
  deps: { db: Kysely<Database>; config: Config; now: () => Date },
  input: LoginInput,
): Promise<LoginResult> {
  const { db, config } = deps;
  const now = deps.now();
  const where = { ip: input.ip };
  const user = await db
    .selectFrom('users')
    .select([
      'id',
      'username',
      'role',
      'password_hash',
      'disabled',
      'failed_logins',
      'locked_until',
      'totp_enabled',
      'totp_secret',
    ])
    .where('username', '=', input.username)
    .executeTakeFirst();
  if (!user) {
    await verifyPassword(null, input.password);
    await recordSecurityEvent(db, {
      action: 'login.failure',
      actor: 'anonymous',
      objectType: 'user',
      details: { ...where, username: input.username.slice(0, 64), reason: 'unknown user' },
    });
    throw refused();
  }
  const audit = (action: string, details: Record<string, unknown>) =>
    recordSecurityEvent(db, {
      action,
      actor: user.username,
      objectType: 'user',
      objectId: user.id,
      details: { ...where, ...details },
    });

  if (user.locked_until && user.locked_until.getTime() > now.getTime()) {
    await audit('login.failure', { reason: 'account locked', locked_until: user.locked_until.toISOString() });
    throw refused(
      'account_locked',
      'too many failed logins: this account is locked for a while (an admin can unlock it)',
    );
  }
  if (user.disabled) {
    await audit('login.failure', { reason: 'account disabled' });
    throw refused();
  }
  const passwordOk = await verifyPassword(user.password_hash, input.password);
  let totpOk = true;
  if (passwordOk && user.totp_enabled) {
    if (!input.totp) {
      await audit('login.failure', { reason: 'TOTP code required' });
      throw refused('totp_required', 'this account needs a TOTP code: send "totp" with the login');
    }
    totpOk = await verifyTotp(
      openTotpSecret(secretKeyFor(config), user.id, user.totp_secret ?? ''),
      input.totp,
      now,
    );
  }
  if (!passwordOk || !totpOk) {
    // A lock that has run out starts a fresh count.
    const expired = user.locked_until !== null;
    const row = await db
      .updateTable('users')
      .set({ failed_logins: expired ? 1 : sql<number>`failed_logins + 1`, locked_until: null })
      .where('id', '=', user.id)
      .returning('failed_logins')
      .executeTakeFirstOrThrow();
    await audit('login.failure', {
      reason: passwordOk ? 'wrong TOTP code' : 'wrong password',
      failed_logins: row.failed_logins,
    });
    if (row.failed_logins >= config.loginLockoutThreshold) {
      const until = new Date(now.getTime() + parseDuration(config.loginLockoutDuration));
      await db
        .updateTable('users')
        .set({ locked_until: until, failed_logins: 0 })
        .where('id', '=', user.id)
        .execute();
      await audit('account.locked', { failed_logins: row.failed_logins, locked_until: until.toISOString() });
    }
    throw refused();
  }
  await db
    .updateTable('users')
    .set({ failed_logins: 0, locked_until: null, last_login_at: now })
    .where('id', '=', user.id)
    .execute();
  await pruneSessions(db, now);
  const restricted = config.requireAdminTotp && user.role === 'admin' && !user.totp_enabled;
  const session = await createSession(db, {
    userId: user.id,
    now,
    maxAgeMs: parseDuration(config.sessionMaxAge),
    restricted,
    ip: input.ip,
    userAgent: input.userAgent,
  });
  await audit('login.success', {
    session_id: session.id,
    ...(restricted ? { totp_enrolment_required: true } : {}),
  });
  return {
    sessionSecret: session.secret,
    csrfToken: csrfTokenFor(session.secret),
    expiresAt: session.expiresAt,
    user: { id: user.id, username: user.username, role: user.role },
    totpEnrolmentRequired: restricted,
  };
}
