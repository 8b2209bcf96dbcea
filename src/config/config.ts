import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { AppError } from '../util/errors.ts';

const port = z.coerce
  .number({ error: 'must be a number' })
  .int('must be a whole number')
  .min(1, 'must be between 1 and 65535')
  .max(65535, 'must be between 1 and 65535');

const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'must be a duration such as 90s, 30m, 24h or 7d');

/**
 * Every setting: its environment variable, its key in the optional JSON config file, its schema and
 * default, and the sentence that documents it (the README's configuration table lists the same).
 */
export const SETTINGS = {
  dataDir: {
    env: 'PORTCULLIS_DATA_DIR',
    schema: z.string().min(1),
    default: './var',
    doc: 'Directory for the embedded database, TLS certificate, admin token and vault.',
  },
  port: { env: 'PORTCULLIS_PORT', schema: port, default: 9999, doc: 'HTTPS port (UI, REST, HEC).' },
  host: {
    env: 'PORTCULLIS_HOST',
    schema: z.string().min(1),
    default: '0.0.0.0',
    doc: 'Address to listen on (`::` for all IPv4 and IPv6 addresses).',
  },
  databaseUrl: {
    env: 'PORTCULLIS_DATABASE_URL',
    schema: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    default: undefined,
    doc: 'External PostgreSQL 15+ (`postgres://user:pass@host:5432/db`). Unset: embedded PGlite under the data dir.',
  },
  tlsCert: {
    env: 'PORTCULLIS_TLS_CERT',
    schema: z.string().min(1).optional(),
    default: undefined,
    doc: 'PEM certificate (chain) file. Unset: a self-signed certificate generated into the data dir.',
  },
  tlsKey: {
    env: 'PORTCULLIS_TLS_KEY',
    schema: z.string().min(1).optional(),
    default: undefined,
    doc: 'PEM private key file for `PORTCULLIS_TLS_CERT`.',
  },
  httpRedirectPort: {
    env: 'PORTCULLIS_HTTP_REDIRECT_PORT',
    schema: port.optional(),
    default: undefined,
    doc: 'If set, a plain-HTTP listener on this port that only redirects browser paths to HTTPS.',
  },
  logLevel: {
    env: 'PORTCULLIS_LOG_LEVEL',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    doc: 'Log level: fatal, error, warn, info, debug, trace or silent.',
  },
  goneAfter: {
    env: 'PORTCULLIS_GONE_AFTER',
    schema: duration,
    default: '7d',
    doc: 'A listener not seen for this long becomes `gone`.',
  },
  importMaxBytes: {
    env: 'PORTCULLIS_IMPORT_MAX_BYTES',
    schema: z.coerce
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(1024, 'must be at least 1024'),
    default: 2 * 1024 * 1024 * 1024,
    doc: 'Largest file accepted by `POST /api/imports` and `portcullis ingest`, in bytes (default 2 GiB).',
  },
  hecMaxBytes: {
    env: 'PORTCULLIS_HEC_MAX_BYTES',
    schema: z.coerce
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(1024, 'must be at least 1024'),
    default: 100 * 1024 * 1024,
    doc: 'Largest HEC request body (`/services/collector/*`), in bytes (default 100 MiB).',
  },
  vaultMaxBytes: {
    env: 'PORTCULLIS_VAULT_MAX_BYTES',
    schema: z.coerce
      .number({ error: 'must be a number of bytes' })
      .int('must be a whole number of bytes')
      .min(1, 'must be at least 1 byte'),
    default: 100 * 1024 * 1024,
    doc: 'Largest file the vault accepts, in bytes (default 100 MiB); larger uploads are refused with 413.',
  },
  sessionIdleTimeout: {
    env: 'PORTCULLIS_SESSION_IDLE_TIMEOUT',
    schema: duration,
    default: '30m',
    doc: 'A browser session unused for this long ends.',
  },
  sessionMaxAge: {
    env: 'PORTCULLIS_SESSION_MAX_AGE',
    schema: duration,
    default: '12h',
    doc: 'A browser session ends this long after login, however active.',
  },
  loginLockoutThreshold: {
    env: 'PORTCULLIS_LOGIN_LOCKOUT_THRESHOLD',
    schema: z.coerce
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(1, 'must be at least 1'),
    default: 20,
    doc: 'Consecutive wrong passwords that lock an account.',
  },
  loginLockoutDuration: {
    env: 'PORTCULLIS_LOGIN_LOCKOUT_DURATION',
    schema: duration,
    default: '15m',
    doc: 'How long a locked account stays locked.',
  },
  loginRateLimit: {
    env: 'PORTCULLIS_LOGIN_RATE_LIMIT',
    schema: z.coerce
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(1, 'must be at least 1'),
    default: 30,
    doc: 'Login attempts allowed per client IP address per minute (more get HTTP 429).',
  },
  requireAdminTotp: {
    env: 'PORTCULLIS_REQUIRE_ADMIN_TOTP',
    schema: z
      .union([
        z.boolean(),
        z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' }),
      ])
      .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes'),
    default: false,
    doc: 'If true, admins must sign in to the web UI with a TOTP code (an admin without one may only enrol).',
  },
  secretKey: {
    env: 'PORTCULLIS_SECRET_KEY',
    schema: z
      .string()
      .regex(/^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$/, 'must be 32 bytes as 64 hex characters or base64')
      .optional(),
    default: undefined,
    doc: 'Key that encrypts stored secrets, asset credentials and TOTP seeds (AES-256-GCM). Unset: `<data dir>/secret.key`, generated on first start (mode 0600).',
  },
  actionTimeout: {
    env: 'PORTCULLIS_ACTION_TIMEOUT',
    schema: duration,
    default: '2m',
    doc: "Default time limit of one action (an app's manifest or the request may set its own).",
  },
  playbookTimeLimit: {
    env: 'PORTCULLIS_PLAYBOOK_TIME_LIMIT',
    schema: duration,
    default: '1h',
    doc: 'Default working-time limit of a playbook run (waiting for a prompt does not count); a playbook may set its own.',
  },
  automationConcurrency: {
    env: 'PORTCULLIS_AUTOMATION_CONCURRENCY',
    schema: z.coerce
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(10000),
    default: 64,
    doc: 'Playbook runs and queued actions one node executes at once.',
  },
  scanEngine: {
    env: 'PORTCULLIS_SCAN_ENGINE',
    schema: z.enum(['auto', 'native', 'js'], { error: 'must be auto, native or js' }),
    default: 'auto',
    doc: 'Probe loop of the connect scanner: `native` (C, built by `npm ci`; needs g++ and make), `js` (Node.js sockets), or `auto`: native when it is built.',
  },
  netflowPort: {
    env: 'PORTCULLIS_NETFLOW_PORT',
    schema: port.optional(),
    default: undefined,
    doc: 'UDP port of the NetFlow v5/v9 collector (2055 is usual). Unset: no collector.',
  },
  ipfixPort: {
    env: 'PORTCULLIS_IPFIX_PORT',
    schema: port.optional(),
    default: undefined,
    doc: 'UDP port of the IPFIX collector (4739 is usual). Unset: no collector.',
  },
  netflowHost: {
    env: 'PORTCULLIS_NETFLOW_HOST',
    schema: z.string().min(1),
    default: '0.0.0.0',
    doc: 'Address the NetFlow and IPFIX collectors listen on (`::` for IPv4 and IPv6).',
  },
  netflowExporters: {
    env: 'PORTCULLIS_NETFLOW_EXPORTERS',
    schema: z
      .union([z.string(), z.array(z.string())])
      .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((x) => x.trim()).filter(Boolean))
      .pipe(
        z.array(
          z
            .string()
            .refine(
              (x) => ipaddr.isValid(x) || ipaddr.isValidCIDR(x),
              'must list IP addresses or CIDR ranges',
            ),
        ),
      ),
    default: '',
    doc: 'Exporters the flow collectors accept, comma-separated addresses or CIDR ranges. Empty: any (flow export is unauthenticated UDP: restrict it).',
  },
} as const;

type Settings = typeof SETTINGS;
export type Config = {
  readonly [K in keyof Settings]: z.output<Settings[K]['schema']>;
} & { readonly configFile: string | undefined };

export const CONFIG_FILE_ENV = 'PORTCULLIS_CONFIG';

/**
 * Reads the configuration once: defaults, then the JSON file named by PORTCULLIS_CONFIG (keys are the
 * setting names, e.g. `{"port": 9443}`), then environment variables. Throws an AppError naming the
 * variable or key for any invalid value. The result is frozen.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const configFile = env[CONFIG_FILE_ENV] || undefined;
  let fileValues: Record<string, unknown> = {};
  if (configFile) {
    let text: string;
    try {
      text = readFileSync(configFile, 'utf8');
    } catch (e) {
      throw new AppError(
        'config_invalid',
        `${CONFIG_FILE_ENV}: cannot read ${configFile}: ${(e as Error).message}`,
      );
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      fileValues = parsed as Record<string, unknown>;
    } catch (e) {
      throw new AppError(
        'config_invalid',
        `${CONFIG_FILE_ENV}: ${configFile} is not a JSON object: ${(e as Error).message}`,
      );
    }
    for (const key of Object.keys(fileValues)) {
      if (!(key in SETTINGS))
        throw new AppError(
          'config_invalid',
          `${configFile}: unknown setting "${key}" (known: ${Object.keys(SETTINGS).join(', ')})`,
        );
    }
  }
  const out: Record<string, unknown> = { configFile };
  const problems: string[] = [];
  for (const [key, s] of Object.entries(SETTINGS)) {
    const fromEnv = env[s.env];
    const raw = fromEnv !== undefined && fromEnv !== '' ? fromEnv : (fileValues[key] ?? s.default);
    const where =
      fromEnv !== undefined && fromEnv !== '' ? s.env : key in fileValues ? `${configFile}: ${key}` : s.env;
    const r = (s.schema as z.ZodType).safeParse(raw);
    if (!r.success) {
      problems.push(`${where}=${JSON.stringify(raw)}: ${r.error.issues.map((i) => i.message).join('; ')}`);
    } else out[key] = r.data;
  }
  if (Boolean(out.tlsCert) !== Boolean(out.tlsKey))
    problems.push('PORTCULLIS_TLS_CERT and PORTCULLIS_TLS_KEY must be set together');
  if (problems.length)
    throw new AppError('config_invalid', `invalid configuration:\n  ${problems.join('\n  ')}`);
  out.dataDir = resolve(out.dataDir as string);
  return Object.freeze(out) as Config;
}

/** Parses a duration such as `90s`, `24h` or `7d` into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new AppError('bad_duration', `"${text}" is not a duration such as 90s, 30m, 24h or 7d`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    m[2] as 'ms' | 's' | 'm' | 'h' | 'd'
  ];
  return n * unit;
}
