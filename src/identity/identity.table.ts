import type { ColumnType, Generated } from 'kysely';

/** Every role, most powerful first. */
export const ROLES = ['admin', 'analyst', 'observer', 'automation'] as const;
export type Role = (typeof ROLES)[number];

export interface UserTable {
  id: Generated<number>;
  username: string;
  role: Role;
  /** argon2id hash; null for users that sign in only with tokens (automation). */
  password_hash: string | null;
  disabled: Generated<boolean>;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** Wrong passwords since the last successful login (reset on success or when a lock expires). */
  failed_logins: Generated<number>;
  /** Set when `failed_logins` reaches the lockout threshold; logins are refused until then. */
  locked_until: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  last_login_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** Base32 TOTP secret; set at enrolment, used only once `totp_enabled` is true. */
  totp_secret: ColumnType<string | null, string | null | undefined, string | null>;
  totp_enabled: Generated<boolean>;
}

export interface SessionTable {
  id: Generated<number>;
  user_id: number;
  /** sha256 of the session id held in the browser's cookie; the id itself is never stored. */
  id_hash: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  last_seen_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** Absolute end of the session, fixed at login. */
  expires_at: ColumnType<Date, Date | string, Date | string>;
  revoked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** An admin who must enrol TOTP first: the session may only reach the enrolment routes. */
  restricted: Generated<boolean>;
  ip: string | null;
  user_agent: string | null;
}

export interface ApiTokenTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  /** `api` tokens authenticate REST calls (ph-auth-token); `hec` tokens may only ingest. */
  kind: 'api' | 'hec';
  /** sha256 of the token; the token itself is shown once and never stored. */
  token_hash: string;
  /** First characters of the token, to tell tokens apart in listings. */
  prefix: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  last_used_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  revoked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface IdentityTables {
  users: UserTable;
  api_tokens: ApiTokenTable;
  sessions: SessionTable;
}
