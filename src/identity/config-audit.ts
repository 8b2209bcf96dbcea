import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Config } from '../config/index.ts';
import { redactUrl, type Database } from '../store/index.ts';
import { recordSecurityEvent } from './security-audit.ts';

const SNAPSHOT_KEY = 'audit.config_snapshot';

/**
 * The configuration as the audit log may show it: secret values only as a fingerprint (so a rotation
 * is visible, the value is not), passwords in URLs masked.
 */
export function auditableConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined) out[k] = null;
    else if (k === 'databaseUrl') out[k] = redactUrl(String(v));
    else if (/secret|password|token/i.test(k))
      out[k] = `sha256:${createHash('sha256').update(String(v)).digest('hex').slice(0, 12)}`;
    else out[k] = v;
  }
  return out;
}

/**
 * Called at every start: compares the effective configuration with the one the last start recorded
 * and writes a `config.change` audit entry naming each setting that changed (`config.initial` on the
 * first start). Settings come from the environment and a file, so start-up is where they change.
 */
export async function auditConfigChanges(db: Kysely<Database>, config: Config): Promise<string[]> {
  const now = auditableConfig(config);
  const row = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', SNAPSHOT_KEY)
    .executeTakeFirst();
  const before = (row?.value ?? null) as Record<string, unknown> | null;
  const changed: string[] = [];
  if (!before) {
    await recordSecurityEvent(db, {
      action: 'config.initial',
      actor: 'system',
      objectType: 'config',
      details: { settings: now },
    });
  } else {
    const changes = [];
    for (const k of new Set([...Object.keys(before), ...Object.keys(now)])) {
      if (JSON.stringify(before[k] ?? null) !== JSON.stringify(now[k] ?? null)) {
        changed.push(k);
        changes.push({ setting: k, old: before[k] ?? null, new: now[k] ?? null });
      }
    }
    if (changes.length)
      await recordSecurityEvent(db, {
        action: 'config.change',
        actor: 'system',
        objectType: 'config',
        details: { changes },
      });
  }
  const value = JSON.stringify(now);
  if (row) await db.updateTable('settings').set({ value }).where('key', '=', SNAPSHOT_KEY).execute();
  else await db.insertInto('settings').values({ key: SNAPSHOT_KEY, value }).execute();
  return changed;
}
