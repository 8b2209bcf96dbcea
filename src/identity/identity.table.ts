import type { ColumnType, Generated } from 'kysely';

export type Role = 'admin' | 'analyst' | 'observer' | 'automation';

export interface UserTable {
  id: Generated<number>;
  username: string;
  role: Role;
  /** argon2id hash; null for users that sign in only with tokens (automation). */
  password_hash: string | null;
  disabled: Generated<boolean>;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
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
}
