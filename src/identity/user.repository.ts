import type { Kysely } from 'kysely';
import type { Database } from '../store/index.ts';
import { AppError, badRequest, conflict, notFound } from '../util/errors.ts';
import { ROLES, type Role } from './identity.table.ts';
import { checkPasswordPolicy, hashPassword } from './password.ts';

/** A user as shown by the API and CLI: never the password hash or TOTP secret. */
export interface UserInfo {
  id: number;
  username: string;
  role: Role;
  disabled: boolean;
  has_password: boolean;
  totp_enabled: boolean;
  locked_until: Date | null;
  last_login_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export function checkUsername(username: string): void {
  if (!USERNAME.test(username))
    throw badRequest(
      `username "${username.slice(0, 80)}": use 1–64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit`,
    );
}

export function checkRole(role: string): asserts role is Role {
  if (!(ROLES as readonly string[]).includes(role))
    throw badRequest(`role "${role}": must be one of ${ROLES.join(', ')}`);
}

const INFO_COLUMNS = [
  'id',
  'username',
  'role',
  'disabled',
  'password_hash',
  'totp_enabled',
  'locked_until',
  'last_login_at',
  'created_at',
  'updated_at',
] as const;

interface InfoRow {
  id: number;
  username: string;
  role: Role;
  disabled: boolean;
  password_hash: string | null;
  totp_enabled: boolean;
  locked_until: Date | null;
  last_login_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

function toInfo(r: InfoRow): UserInfo {
  const { password_hash, ...rest } = r;
  return { ...rest, has_password: password_hash !== null };
}

export async function listUsers(db: Kysely<Database>): Promise<UserInfo[]> {
  const rows = await db.selectFrom('users').select(INFO_COLUMNS).orderBy('id').execute();
  return rows.map(toInfo);
}

/** Finds a user by numeric id or username; throws not found. */
export async function getUser(db: Kysely<Database>, ref: string | number): Promise<UserInfo> {
  const asId = typeof ref === 'number' ? ref : /^\d+$/.test(ref) ? Number(ref) : undefined;
  let q = db.selectFrom('users').select(INFO_COLUMNS);
  q = asId !== undefined ? q.where('id', '=', asId) : q.where('username', '=', String(ref));
  const row = await q.executeTakeFirst();
  if (!row) throw notFound(`user "${ref}"`);
  return toInfo(row);
}

export async function createUser(
  db: Kysely<Database>,
  input: { username: string; role: string; password?: string | null },
): Promise<UserInfo> {
  checkUsername(input.username);
  checkRole(input.role);
  if (input.password) checkPasswordPolicy(input.password, input.username);
  const exists = await db
    .selectFrom('users')
    .select('id')
    .where('username', '=', input.username)
    .executeTakeFirst();
  if (exists) throw conflict(`user "${input.username}" already exists`);
  const row = await db
    .insertInto('users')
    .values({
      username: input.username,
      role: input.role,
      password_hash: input.password ? await hashPassword(input.password) : null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return getUser(db, row.id);
}

export async function setPassword(
  db: Kysely<Database>,
  userId: number,
  password: string,
  username?: string,
): Promise<void> {
  checkPasswordPolicy(password, username);
  await db
    .updateTable('users')
    .set({
      password_hash: await hashPassword(password),
      updated_at: new Date(),
      failed_logins: 0,
      locked_until: null,
    })
    .where('id', '=', userId)
    .execute();
}

async function enabledAdmins(db: Kysely<Database>): Promise<number[]> {
  const rows = await db
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'admin')
    .where('disabled', '=', false)
    .execute();
  return rows.map((r) => r.id);
}

/** Refuses a change that would leave no enabled admin (nobody could manage users any more). */
async function keepOneAdmin(db: Kysely<Database>, userId: number, what: string): Promise<void> {
  const admins = await enabledAdmins(db);
  if (admins.length === 1 && admins[0] === userId)
    throw new AppError('last_admin', `cannot ${what} the last enabled admin`, { status: 409 });
}

/** Changes role, disabled flag, or clears a lockout. Returns the user before and after. */
export async function updateUser(
  db: Kysely<Database>,
  userId: number,
  patch: { role?: string; disabled?: boolean; unlock?: boolean },
): Promise<{ before: UserInfo; after: UserInfo }> {
  const before = await getUser(db, userId);
  const set: Record<string, unknown> = { updated_at: new Date() };
  if (patch.role !== undefined) {
    checkRole(patch.role);
    if (before.role === 'admin' && patch.role !== 'admin') await keepOneAdmin(db, userId, 'demote');
    set.role = patch.role;
  }
  if (patch.disabled !== undefined) {
    if (patch.disabled && before.role === 'admin') await keepOneAdmin(db, userId, 'disable');
    set.disabled = patch.disabled;
  }
  if (patch.unlock) {
    set.failed_logins = 0;
    set.locked_until = null;
  }
  await db.updateTable('users').set(set).where('id', '=', userId).execute();
  return { before, after: await getUser(db, userId) };
}

export async function deleteUser(db: Kysely<Database>, userId: number): Promise<UserInfo> {
  const user = await getUser(db, userId);
  if (user.role === 'admin') await keepOneAdmin(db, userId, 'delete');
  await db.deleteFrom('users').where('id', '=', userId).execute();
  return user;
}
