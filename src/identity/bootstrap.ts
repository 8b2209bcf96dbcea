import { existsSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Logger } from '../logging/index.ts';
import type { Database } from '../store/index.ts';
import { createToken } from './token.repository.ts';

export const ADMIN_TOKEN_FILE = 'admin-token';

/**
 * On first start: creates the `admin` user and an admin API token, written to
 * `<dataDir>/admin-token` with mode 0600. If the file was deleted later, a new admin token is issued
 * into it (whoever can write the data dir already owns the database). The token is never logged.
 */
export async function bootstrapAdmin(db: Kysely<Database>, dataDir: string, logger: Logger): Promise<void> {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  let admin = await db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirst();
  if (!admin) {
    admin = await db
      .insertInto('users')
      .values({ username: 'admin', role: 'admin', password_hash: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    logger.info('created the admin user');
  } else if (existsSync(file)) return;
  const { token } = await createToken(db, { userId: admin.id, name: 'admin-token file', kind: 'api' });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  logger.info({ file }, 'wrote the admin API token');
}
