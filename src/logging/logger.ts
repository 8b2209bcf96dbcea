import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Paths that never reach a log line: tokens, passwords, secrets, cookies and auth headers.
 * Keep in step with any new field that carries a credential.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["ph-auth-token"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.secret',
  '*.secrets',
  'password',
  'token',
  'secret',
];

/**
 * Structured JSON logs; human-readable lines when stderr/stdout is a terminal.
 * `destination` lets tests capture every line.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const opts = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (destination) return pino(opts, destination);
  if (process.stdout.isTTY) {
    return pino({
      ...opts,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:standard' } },
    });
  }
  return pino(opts);
}
