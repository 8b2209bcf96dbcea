import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AppContext } from '../api/context.ts';
import { parseDuration } from '../config/index.ts';
import { AppError, badRequest, forbidden, notFound, unauthenticated } from '../util/errors.ts';
import { login } from './login.service.ts';
import { verifyPassword } from './password.ts';
import { recordSecurityEvent } from './security-audit.ts';
import {
  CSRF_COOKIE,
  csrfTokenFor,
  revokeSession,
  revokeUserSessions,
  SESSION_COOKIE,
} from './session.repository.ts';
import { createToken, listTokens, revokeToken, type Principal, type TokenInfo } from './token.repository.ts';
import { newTotpSecret, openTotpSecret, sealTotpSecret, verifyTotp } from './totp.ts';
import { secretKeyFor } from '../util/secret-box.ts';
import {
  createUser,
  deleteUser,
  getUser,
  listUsers,
  setPassword,
  updateUser,
  type UserInfo,
} from './user.repository.ts';

const LoginBody = z.object({
  username: z.string().min(1).max(200),
  password: z.string().min(1).max(1024),
  totp: z.string().max(16).optional(),
});
const UserRef = z.object({ user: z.string().min(1).max(200) });
const IdParam = z.object({ id: z.coerce.number().int().positive() });
const NewUser = z.object({
  username: z.string().min(1).max(64),
  role: z.enum(['admin', 'analyst', 'observer', 'automation']),
  password: z.string().max(1024).optional(),
});
const UserPatch = z
  .object({
    role: z.enum(['admin', 'analyst', 'observer', 'automation']).optional(),
    disabled: z.boolean().optional(),
    unlock: z.boolean().optional(),
  })
  .strict();
const PasswordBody = z.object({ password: z.string().max(1024) });
const OwnPasswordBody = z.object({
  current_password: z.string().max(1024),
  new_password: z.string().max(1024),
});
const NewToken = z.object({
  name: z.string().min(1).max(200).optional(),
  kind: z.enum(['api', 'hec']).optional(),
  user: z.union([z.string().min(1).max(200), z.number().int().positive()]).optional(),
  expires_at: z.iso.datetime({ offset: true }).optional(),
  expires_in: z
    .string()
    .regex(/^\d+(s|m|h|d)$/, 'a duration such as 90m, 24h or 30d')
    .optional(),
});
const TokenQuery = z.object({ user: z.string().min(1).max(200).optional() });
const CodeBody = z.object({ code: z.string().min(1).max(16) });
const ConfirmPassword = z.object({ password: z.string().max(1024) });
const PhUserQuery = z.object({
  page: z.coerce.number().int().min(0).optional(),
  page_size: z.coerce.number().int().min(0).optional(),
});
const PhUserBody = z.object({
  username: z.string().min(1).max(64),
  password: z.string().max(1024).optional(),
  role: z.enum(['admin', 'analyst', 'observer', 'automation']).optional(),
  type: z.enum(['normal', 'automation']).optional(),
});

const me = (req: FastifyRequest): Principal => {
  if (!req.principal) throw unauthenticated();
  return req.principal;
};
const ip = (req: FastifyRequest) => req.ip ?? null;
const tokenView = (t: TokenInfo) => t;

/** The Splunk SOAR `ph_user` shape of a user. */
export function toPhUser(u: UserInfo): Record<string, unknown> {
  return {
    id: u.id,
    username: u.username,
    first_name: '',
    last_name: '',
    email: '',
    type: u.role === 'automation' ? 'automation' : 'normal',
    role: u.role,
    is_active: !u.disabled,
    date_joined: u.created_at.toISOString(),
    last_login: u.last_login_at ? u.last_login_at.toISOString() : null,
  };
}

/** Users, tokens, sessions (login/logout/me), TOTP enrolment and `/rest/ph_user`. */
export function registerIdentityRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { db } = ctx;
  const audit = (
    req: FastifyRequest,
    action: string,
    objectType: string,
    objectId: string | number | null,
    details: Record<string, unknown> = {},
  ) =>
    recordSecurityEvent(db, {
      action,
      actor: req.principal?.username ?? 'anonymous',
      objectType,
      objectId,
      details: { ip: ip(req), ...details },
    });

  const setSessionCookies = (reply: FastifyReply, secret: string, expires: Date) => {
    const base = { secure: true, sameSite: 'strict' as const, path: '/', expires };
    reply.setCookie(SESSION_COOKIE, secret, { ...base, httpOnly: true });
    reply.setCookie(CSRF_COOKIE, csrfTokenFor(secret), { ...base, httpOnly: false });
  };
  const clearSessionCookies = (reply: FastifyReply) => {
    reply.clearCookie(SESSION_COOKIE, { path: '/', secure: true, sameSite: 'strict', httpOnly: true });
    reply.clearCookie(CSRF_COOKIE, { path: '/', secure: true, sameSite: 'strict' });
  };

  // ---- sessions ----
  const throttledAt = new Map<string, number>();
  app.post(
    '/api/login',
    {
      schema: { body: LoginBody },
      bodyLimit: 16 * 1024,
      config: {
        auth: 'public',
        rateLimit: {
          max: ctx.config.loginRateLimit,
          timeWindow: 60_000,
          // Throttled attempts are audited too, once a minute per address (a flood must not flood the log).
          onExceeded: (req: FastifyRequest) => {
            const at = ctx.now().getTime();
            const key = ip(req) ?? '?';
            if ((throttledAt.get(key) ?? 0) > at - 60_000) return;
            throttledAt.set(key, at);
            if (throttledAt.size > 10_000) throttledAt.clear();
            void audit(req, 'login.throttled', 'user', null, {
              limit_per_minute: ctx.config.loginRateLimit,
            }).catch((e: unknown) => ctx.logger.warn({ err: e }, 'could not audit a throttled login'));
          },
        },
      },
    },
    async (req, reply) => {
      const body = req.body as z.infer<typeof LoginBody>;
      const r = await login(ctx, {
        username: body.username,
        password: body.password,
        totp: body.totp,
        ip: ip(req),
        userAgent: req.headers['user-agent'] ?? null,
      });
      setSessionCookies(reply, r.sessionSecret, r.expiresAt);
      return {
        user: r.user,
        csrf_token: r.csrfToken,
        expires_at: r.expiresAt.toISOString(),
        totp_enrolment_required: r.totpEnrolmentRequired,
      };
    },
  );

  app.post('/api/logout', async (req, reply) => {
    const p = me(req);
    if (p.sessionId) {
      await revokeSession(db, p.sessionId, ctx.now());
      await audit(req, 'session.logout', 'session', p.sessionId);
    }
    clearSessionCookies(reply);
    return { success: true };
  });

  app.post('/api/logout/all', async (req, reply) => {
    const p = me(req);
    const n = await revokeUserSessions(db, p.userId, ctx.now());
    await audit(req, 'session.logout_all', 'user', p.userId, { sessions: n });
    clearSessionCookies(reply);
    return { success: true, sessions_revoked: n };
  });

  app.get('/api/me', async (req) => {
    const p = me(req);
    const u = await getUser(db, p.userId);
    const secret = req.cookies?.[SESSION_COOKIE];
    return {
      ...u,
      auth: p.sessionId ? 'session' : 'token',
      ...(p.sessionId && secret ? { csrf_token: csrfTokenFor(secret) } : {}),
      totp_enrolment_required: Boolean((p as Principal & { restricted?: boolean }).restricted),
    };
  });

  app.post('/api/me/password', { schema: { body: OwnPasswordBody } }, async (req) => {
    const p = me(req);
    const body = req.body as z.infer<typeof OwnPasswordBody>;
    const row = await db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', p.userId)
      .executeTakeFirstOrThrow();
    if (row.password_hash && !(await verifyPassword(row.password_hash, body.current_password))) {
      await audit(req, 'user.password_change_failed', 'user', p.userId, { reason: 'wrong current password' });
      throw new AppError('wrong_password', 'current_password is wrong', { status: 400 });
    }
    await setPassword(db, p.userId, body.new_password, p.username);
    const n = await revokeUserSessions(db, p.userId, ctx.now(), p.sessionId ?? undefined);
    await audit(req, 'user.password', 'user', p.userId, { by: 'self', other_sessions_revoked: n });
    return { success: true };
  });

  // ---- TOTP ----
  app.post('/api/me/totp', async (req) => {
    const p = me(req);
    const u = await getUser(db, p.userId);
    if (u.totp_enabled)
      throw new AppError('totp_enabled', 'TOTP is already on; turn it off first (DELETE /api/me/totp)', {
        status: 409,
      });
    const { secret, otpauthUrl } = newTotpSecret(p.username);
    await db
      .updateTable('users')
      .set({ totp_secret: sealTotpSecret(secretKeyFor(ctx.config), p.userId, secret), updated_at: ctx.now() })
      .where('id', '=', p.userId)
      .execute();
    await audit(req, 'user.totp_enrolment_started', 'user', p.userId);
    return { secret, otpauth_url: otpauthUrl, next: 'POST /api/me/totp/confirm with {"code": "<6 digits>"}' };
  });

  app.post('/api/me/totp/confirm', { schema: { body: CodeBody } }, async (req) => {
    const p = me(req);
    const { code } = req.body as z.infer<typeof CodeBody>;
    const row = await db
      .selectFrom('users')
      .select(['totp_secret', 'totp_enabled'])
      .where('id', '=', p.userId)
      .executeTakeFirstOrThrow();
    if (!row.totp_secret) throw badRequest('no TOTP enrolment in progress: POST /api/me/totp first');
    const secret = openTotpSecret(secretKeyFor(ctx.config), p.userId, row.totp_secret);
    if (!(await verifyTotp(secret, code, ctx.now()))) {
      await audit(req, 'user.totp_confirm_failed', 'user', p.userId);
      throw badRequest('code: wrong TOTP code (check the device clock)');
    }
    await db
      .updateTable('users')
      .set({ totp_enabled: true, updated_at: ctx.now() })
      .where('id', '=', p.userId)
      .execute();
    // A restricted (enrolment-only) session has done its job: the next login is a full one.
    if (p.sessionId)
      await db.updateTable('sessions').set({ restricted: false }).where('id', '=', p.sessionId).execute();
    await audit(req, 'user.totp_enabled', 'user', p.userId);
    return { success: true, totp_enabled: true };
  });

  app.delete('/api/me/totp', { schema: { body: ConfirmPassword } }, async (req) => {
    const p = me(req);
    const { password } = req.body as z.infer<typeof ConfirmPassword>;
    const row = await db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', p.userId)
      .executeTakeFirstOrThrow();
    if (!(await verifyPassword(row.password_hash, password)))
      throw new AppError('wrong_password', 'password is wrong', { status: 400 });
    if (ctx.config.requireAdminTotp && p.role === 'admin')
      throw new AppError('totp_required', 'admins must keep TOTP on (PORTCULLIS_REQUIRE_ADMIN_TOTP)', {
        status: 409,
      });
    await db
      .updateTable('users')
      .set({ totp_enabled: false, totp_secret: null, updated_at: ctx.now() })
      .where('id', '=', p.userId)
      .execute();
    await audit(req, 'user.totp_disabled', 'user', p.userId);
    return { success: true, totp_enabled: false };
  });

  // ---- users (admin) ----
  app.get('/api/users', async () => ({ data: await listUsers(db) }));

  app.post('/api/users', { schema: { body: NewUser } }, async (req, reply) => {
    const body = req.body as z.infer<typeof NewUser>;
    const u = await createUser(db, body);
    await audit(req, 'user.create', 'user', u.id, { username: u.username, role: u.role });
    return reply.status(201).send(u);
  });

  app.get('/api/users/:user', { schema: { params: UserRef } }, async (req) =>
    getUser(db, (req.params as z.infer<typeof UserRef>).user),
  );

  app.patch('/api/users/:user', { schema: { params: UserRef, body: UserPatch } }, async (req) => {
    const target = await getUser(db, (req.params as z.infer<typeof UserRef>).user);
    const patch = req.body as z.infer<typeof UserPatch>;
    const { before, after } = await updateUser(db, target.id, patch);
    if (patch.role !== undefined && before.role !== after.role)
      await audit(req, 'user.role', 'user', target.id, {
        username: target.username,
        from: before.role,
        to: after.role,
      });
    if (patch.disabled !== undefined && before.disabled !== after.disabled) {
      await audit(req, after.disabled ? 'user.disable' : 'user.enable', 'user', target.id, {
        username: target.username,
      });
      if (after.disabled) await revokeUserSessions(db, target.id, ctx.now());
    }
    if (patch.unlock) await audit(req, 'user.unlock', 'user', target.id, { username: target.username });
    return after;
  });

  app.delete('/api/users/:user', { schema: { params: UserRef } }, async (req) => {
    const target = await getUser(db, (req.params as z.infer<typeof UserRef>).user);
    if (target.id === me(req).userId) throw badRequest('you cannot delete your own account');
    await deleteUser(db, target.id);
    await audit(req, 'user.delete', 'user', target.id, { username: target.username, role: target.role });
    return { success: true, id: target.id };
  });

  app.put('/api/users/:user/password', { schema: { params: UserRef, body: PasswordBody } }, async (req) => {
    const target = await getUser(db, (req.params as z.infer<typeof UserRef>).user);
    await setPassword(db, target.id, (req.body as z.infer<typeof PasswordBody>).password, target.username);
    const n = await revokeUserSessions(db, target.id, ctx.now());
    await audit(req, 'user.password', 'user', target.id, {
      username: target.username,
      by: 'admin',
      sessions_revoked: n,
    });
    return { success: true };
  });

  app.post('/api/users/:user/logout', { schema: { params: UserRef } }, async (req) => {
    const target = await getUser(db, (req.params as z.infer<typeof UserRef>).user);
    const n = await revokeUserSessions(db, target.id, ctx.now());
    await audit(req, 'session.logout_all', 'user', target.id, { username: target.username, sessions: n });
    return { success: true, sessions_revoked: n };
  });

  // ---- API and HEC tokens ----
  app.get('/api/tokens', { schema: { querystring: TokenQuery } }, async (req) => {
    const p = me(req);
    const q = req.query as z.infer<typeof TokenQuery>;
    if (p.role !== 'admin') {
      if (q.user && q.user !== p.username && q.user !== String(p.userId))
        throw forbidden("only admins list other users' tokens");
      return { data: (await listTokens(db, { userId: p.userId })).map(tokenView) };
    }
    const userId = q.user ? (await getUser(db, q.user)).id : undefined;
    return { data: (await listTokens(db, userId === undefined ? {} : { userId })).map(tokenView) };
  });

  app.post('/api/tokens', { schema: { body: NewToken } }, async (req, reply) => {
    const p = me(req);
    const body = req.body as z.infer<typeof NewToken>;
    const owner = body.user === undefined ? await getUser(db, p.userId) : await getUser(db, body.user);
    if (owner.id !== p.userId && p.role !== 'admin')
      throw forbidden('only admins create tokens for other users');
    if (owner.disabled) throw badRequest(`user "${owner.username}" is disabled`);
    if (body.expires_at && body.expires_in) throw badRequest('give expires_at or expires_in, not both');
    const now = ctx.now();
    const expiresAt = body.expires_at
      ? new Date(body.expires_at)
      : body.expires_in
        ? new Date(now.getTime() + parseDuration(body.expires_in))
        : null;
    if (expiresAt && expiresAt.getTime() <= now.getTime())
      throw badRequest('expires_at: must be in the future');
    const kind = body.kind ?? 'api';
    const name = body.name ?? `${kind} token for ${owner.username}`;
    const { id, token } = await createToken(db, { userId: owner.id, name, kind, expiresAt });
    await audit(req, 'token.create', 'api_token', id, {
      name,
      kind,
      owner: owner.username,
      expires_at: expiresAt?.toISOString() ?? null,
    });
    return reply
      .status(201)
      .send({ id, token, name, kind, user: owner.username, expires_at: expiresAt?.toISOString() ?? null });
  });

  app.delete('/api/tokens/:id', { schema: { params: IdParam } }, async (req) => {
    const p = me(req);
    const { id } = req.params as z.infer<typeof IdParam>;
    const row = await db
      .selectFrom('api_tokens')
      .select(['id', 'user_id', 'name', 'revoked_at'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row || (row.user_id !== p.userId && p.role !== 'admin')) throw notFound(`token ${id}`);
    await revokeToken(db, id);
    if (!row.revoked_at) await audit(req, 'token.revoke', 'api_token', id, { name: row.name });
    return { success: true, id, revoked: true };
  });

  // ---- Splunk SOAR: /rest/ph_user ----
  app.get('/rest/ph_user', { schema: { querystring: PhUserQuery } }, async (req) => {
    const q = req.query as z.infer<typeof PhUserQuery>;
    const all = (await listUsers(db)).map(toPhUser);
    const size = q.page_size === 0 ? all.length || 1 : (q.page_size ?? 10);
    const page = q.page ?? 0;
    return {
      count: all.length,
      num_pages: Math.max(1, Math.ceil(all.length / size)),
      data: all.slice(page * size, page * size + size),
    };
  });

  app.get('/rest/ph_user/:id', { schema: { params: IdParam } }, async (req) =>
    toPhUser(await getUser(db, (req.params as z.infer<typeof IdParam>).id)),
  );

  app.post('/rest/ph_user', { schema: { body: PhUserBody } }, async (req) => {
    const body = req.body as z.infer<typeof PhUserBody>;
    const role = body.role ?? (body.type === 'automation' ? 'automation' : 'analyst');
    const u = await createUser(db, { username: body.username, role, password: body.password ?? null });
    await audit(req, 'user.create', 'user', u.id, { username: u.username, role: u.role });
    return { id: u.id, success: true };
  });
}
