/** Who is at fault: the caller's input, the environment, or our own code. */
export type ErrorKind = 'user' | 'operational' | 'bug';

/** Where in an input a problem was found. */
export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  offset?: number;
  pointer?: string;
}

/**
 * The one error type of the product. `code` is stable and machine-readable; `message` says what is
 * wrong and what to do. HTTP status and CLI exit code are derived from it in one place each
 * (`httpStatusOf`, `exitCodeOf`).
 */
export class AppError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly status: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    opts: {
      kind?: ErrorKind;
      status?: number;
      details?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.kind = opts.kind ?? 'user';
    this.status = opts.status;
    this.details = opts.details;
  }
}

export const unauthenticated = (message = 'authentication required: send a ph-auth-token header') =>
  new AppError('unauthenticated', message, { status: 401 });
export const forbidden = (message = 'your role does not allow this') =>
  new AppError('forbidden', message, { status: 403 });
export const notFound = (what: string) => new AppError('not_found', `${what} not found`, { status: 404 });
export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new AppError('bad_request', message, { status: 400, ...(details ? { details } : {}) });
export const conflict = (message: string, details?: Record<string, unknown>) =>
  new AppError('conflict', message, { status: 409, ...(details ? { details } : {}) });

/** HTTP status for any thrown value. */
export function httpStatusOf(err: unknown): number {
  if (err instanceof AppError) {
    if (err.status) return err.status;
    return err.kind === 'user' ? 400 : err.kind === 'operational' ? 503 : 500;
  }
  const s = (err as { statusCode?: unknown })?.statusCode;
  if (typeof s === 'number' && s >= 400 && s < 600) return s;
  return 500;
}

/** Process exit code for any thrown value: 2 for user errors, 3 operational, 1 otherwise. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof AppError) return err.kind === 'user' ? 2 : err.kind === 'operational' ? 3 : 1;
  return 1;
}

/** Formats a location as `file:line:column` / `byte N` / `at /json/pointer`. */
export function formatLocation(loc: ErrorLocation): string {
  const parts: string[] = [];
  if (loc.file !== undefined) {
    let s = loc.file;
    if (loc.line !== undefined) s += `:${loc.line}`;
    if (loc.line !== undefined && loc.column !== undefined) s += `:${loc.column}`;
    parts.push(s);
  } else if (loc.line !== undefined) {
    parts.push(`line ${loc.line}` + (loc.column !== undefined ? `:${loc.column}` : ''));
  }
  if (loc.offset !== undefined) parts.push(`byte ${loc.offset}`);
  if (loc.pointer !== undefined) parts.push(`at ${loc.pointer || '/'}`);
  return parts.join(' ');
}
