import { createGunzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../api/context.ts';
import { authenticateHecToken, type Principal } from '../identity/index.ts';
import { AppError } from '../util/errors.ts';
import { formatOfSourcetype, HEC, ingestHecEvents, type HecStatus } from './hec.ingest.ts';
import { ingestStream, type IngestSummary } from './ingest.service.ts';

const EVENT_PATHS = ['/services/collector', '/services/collector/event', '/services/collector/event/1.0'];
const RAW_PATHS = ['/services/collector/raw', '/services/collector/raw/1.0'];
const HEALTH_PATHS = ['/services/collector/health', '/services/collector/health/1.0'];
const CHANNEL = /^[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}$/;

function send(reply: FastifyReply, s: HecStatus, extra: Record<string, unknown> = {}): FastifyReply {
  return reply.status(s.status).send({ text: s.text, code: s.code, ...extra });
}

/** The HEC token of a request: `Authorization: Splunk <token>` (or Basic with the token as password). */
function hecToken(req: FastifyRequest): { token?: string; problem?: HecStatus } {
  const auth = req.headers.authorization;
  if (typeof auth !== 'string' || auth.trim() === '') {
    const q = req.query as Record<string, unknown> | undefined;
    if (q && typeof q.token === 'string') return { problem: HEC.queryStringAuth };
    return { problem: HEC.tokenRequired };
  }
  const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(auth);
  if (!m) return { problem: HEC.invalidAuthorization };
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'splunk') return { token: m[2]! };
  if (scheme === 'basic') {
    const decoded = Buffer.from(m[2]!, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i >= 0 && decoded.slice(i + 1)) return { token: decoded.slice(i + 1) };
  }
  return { problem: HEC.invalidAuthorization };
}

/**
 * Reads what is left of a refused request's body so the sender gets our answer, but at most
 * `cap` bytes: an unauthenticated sender cannot keep the server reading forever.
 */
async function drain(input: AsyncIterable<unknown>, cap = 1024 * 1024): Promise<void> {
  let n = 0;
  try {
    for await (const chunk of input) {
      n += (chunk as Buffer).length ?? 0;
      if (n > cap) {
        (input as unknown as { destroy?: () => void }).destroy?.();
        return;
      }
    }
  } catch {
    // client gone
  }
}

/** The request body as a byte stream, gunzipped when the sender compressed it, cut at `max` bytes. */
async function* bodyOf(req: FastifyRequest, max: number): AsyncGenerator<Buffer> {
  const raw = req.body as AsyncIterable<Buffer> | undefined;
  if (!raw) return;
  const encoding = String(req.headers['content-encoding'] ?? '').toLowerCase();
  const src: AsyncIterable<Buffer> =
    encoding === 'gzip'
      ? ((raw as unknown as NodeJS.ReadableStream).pipe(createGunzip()) as AsyncIterable<Buffer>)
      : raw;
  let n = 0;
  for await (const b of src) {
    n += b.length;
    if (n > max)
      throw new AppError(
        'hec_too_large',
        `HEC request body larger than ${max} bytes (PORTCULLIS_HEC_MAX_BYTES)`,
        { status: 413 },
      );
    yield b;
  }
}

function summaryHeader(summary: IngestSummary, ignored = 0): string {
  return JSON.stringify({
    records: summary.records,
    observations: summary.observations,
    new_services: summary.new_services,
    containers: summary.containers,
    issues_total: summary.issues_total,
    ...(ignored ? { ignored } : {}),
  });
}

/**
 * Splunk HEC-compatible ingest: `POST /services/collector[/event[/1.0]]` (JSON envelopes),
 * `POST /services/collector/raw` (raw lines; `?sourcetype=` picks the parser, else the format is
 * detected), `GET /services/collector/health`. Authenticated by `Authorization: Splunk <token>` (HEC
 * tokens, and API tokens of admins and automation users), answering HEC's JSON and status codes.
 * HEC input is live data, never a learning run: new strong listeners raise containers at once.
 */
export async function registerHecRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const max = ctx.config.hecMaxBytes;
  await app.register(async (scope) => {
    // Senders use any content type (splunk-logging sends x-www-form-urlencoded): read bytes ourselves.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

    const authenticate = async (req: FastifyRequest, reply: FastifyReply): Promise<Principal | null> => {
      const { token, problem } = hecToken(req);
      if (problem) {
        if (req.body) await drain(req.body as AsyncIterable<unknown>);
        send(reply, problem);
        return null;
      }
      const p = await authenticateHecToken(ctx.db, token!, ctx.now());
      if (!p) {
        if (req.body) await drain(req.body as AsyncIterable<unknown>);
        send(reply, HEC.invalidToken);
        return null;
      }
      return p;
    };

    const channelProblem = (req: FastifyRequest): HecStatus | null => {
      const q = req.query as Record<string, unknown>;
      const ch = req.headers['x-splunk-request-channel'] ?? q.channel;
      if (ch === undefined) return null;
      return typeof ch === 'string' && CHANNEL.test(ch) ? null : HEC.invalidChannel;
    };

    for (const url of EVENT_PATHS) {
      scope.post(url, { config: { auth: 'hec' }, bodyLimit: max }, async (req, reply) => {
        if (!(await authenticate(req, reply))) return reply;
        const chp = channelProblem(req);
        if (chp) {
          if (req.body) await drain(req.body as AsyncIterable<unknown>);
          return send(reply, chp);
        }
        const q = req.query as Record<string, string | undefined>;
        try {
          const res = await ingestHecEvents(ctx, bodyOf(req, max), {
            ...(q.sourcetype ? { sourcetype: q.sourcetype } : {}),
            ...(q.host ? { host: q.host } : {}),
          });
          if (res.summary.issues_total)
            req.log.info(
              { issues: res.summary.issues.slice(0, 5), total: res.summary.issues_total },
              'HEC events with problems',
            );
          reply.header('x-portcullis-summary', summaryHeader(res.summary, res.ignored));
          return reply.status(res.status).send(res.body);
        } catch (e) {
          if (req.body) await drain(req.body as AsyncIterable<unknown>);
          if (e instanceof AppError && e.status === 413)
            return reply.status(413).send({ text: e.message, code: HEC.invalidDataFormat.code });
          req.log.error({ err: e }, 'HEC ingest failed');
          return send(reply, HEC.internalError);
        }
      });
    }

    for (const url of RAW_PATHS) {
      scope.post(url, { config: { auth: 'hec' }, bodyLimit: max }, async (req, reply) => {
        if (!(await authenticate(req, reply))) return reply;
        const chp = channelProblem(req);
        if (chp) {
          if (req.body) await drain(req.body as AsyncIterable<unknown>);
          return send(reply, chp);
        }
        const q = req.query as Record<string, string | undefined>;
        const format = formatOfSourcetype(q.sourcetype);
        if (q.sourcetype && !format) {
          if (req.body) await drain(req.body as AsyncIterable<unknown>);
          return send(reply, HEC.invalidDataFormat, {
            message: `sourcetype ${q.sourcetype} is not one Portcullis reads`,
          });
        }
        try {
          const summary = await ingestStream(ctx, bodyOf(req, max), {
            file: 'hec:raw',
            learning: false,
            ...(format ? { format } : {}),
            ...(q.host ? { host: q.host } : {}),
          });
          reply.header('x-portcullis-summary', summaryHeader(summary));
          return send(reply, HEC.success);
        } catch (e) {
          if (req.body) await drain(req.body as AsyncIterable<unknown>);
          if (e instanceof AppError && e.code === 'no_data') return send(reply, HEC.noData);
          if (e instanceof AppError && (e.status ?? 500) < 500)
            return send(reply, HEC.invalidDataFormat, { message: e.message });
          req.log.error({ err: e }, 'HEC raw ingest failed');
          return send(reply, HEC.internalError);
        }
      });
    }

    for (const url of HEALTH_PATHS) {
      scope.get(url, { config: { auth: 'public' } }, async (_req, reply) => send(reply, HEC.healthy));
    }
  });
}
