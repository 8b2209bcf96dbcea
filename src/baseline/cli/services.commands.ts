import type { Command } from 'commander';
import { callApi, resolveTarget } from '../../cli/client.ts';
import { printJson, printTable } from '../../cli/output.ts';
import type { ServiceChangeView, ServiceView } from '../service.repository.ts';

interface ListOpts {
  host?: string;
  port?: string;
  protocol?: string;
  state?: string;
  source?: string;
  evidence?: string;
  seenSince?: string;
  firstSeenSince?: string;
  sort?: string;
  order?: string;
  limit?: string;
  json?: boolean;
}

const PAGE = 1000;

/** `portcullis services …`: list the baseline; `services changes`, `services approve`. */
export function registerServiceCommands(program: Command): void {
  const services = program
    .command('services')
    .description(
      'list the baseline: one row per (host, protocol, port) with first/last seen, evidence and state.\n' +
        'Examples: "which ports on host X received data in the last 24 h": services --host X --seen-since 24h;\n' +
        '"which hosts listen on 22": services --port 22',
    )
    .option('--host <host>', 'an IP address, a CIDR block (198.18.0.0/15) or a host name')
    .option('--port <port>', 'port number')
    .option('--protocol <protocol>', 'tcp, udp or sctp')
    .option('--state <state>', 'new, approved, unapproved or gone')
    .option(
      '--source <source>',
      'evidence source: nmap, masscan, netcat, stream, zeek, osquery, ss, netflow, pcap, scan…',
    )
    .option('--evidence <grade>', 'strong or weak')
    .option('--seen-since <when>', 'last seen within a duration (24h, -7d) or since an ISO time')
    .option('--first-seen-since <when>', 'first seen within a duration or since an ISO time')
    .option('--sort <field>', 'host, port, protocol, state, evidence, first_seen, last_seen, observations')
    .option('--order <order>', 'asc or desc')
    .option('--limit <n>', 'at most this many rows (default: all)')
    .option('--json', 'print {"count": N, "data": [...]}')
    .action(async (opts: ListOpts) => {
      const target = resolveTarget();
      const params = new URLSearchParams();
      const set = (k: string, v: string | undefined) => {
        if (v !== undefined && v !== '') params.set(k, v);
      };
      set('host', opts.host);
      set('port', opts.port);
      set('protocol', opts.protocol?.toLowerCase());
      set('state', opts.state);
      set('source', opts.source);
      set('evidence', opts.evidence);
      set('seen_since', opts.seenSince);
      set('first_seen_since', opts.firstSeenSince);
      set('sort', opts.sort);
      set('order', opts.order);
      const max = opts.limit !== undefined ? Number(opts.limit) : Infinity;
      const data: ServiceView[] = [];
      let count: number;
      for (let offset = 0; ; offset += PAGE) {
        params.set('limit', String(Math.min(PAGE, max - data.length)));
        params.set('offset', String(offset));
        const { body } = await callApi<{ count: number; data: ServiceView[] }>(
          target,
          'GET',
          `/api/services?${params}`,
        );
        count = body.count;
        data.push(...body.data);
        if (body.data.length < PAGE || data.length >= count || data.length >= max) break;
      }
      if (opts.json) {
        printJson({ count, data });
        return;
      }
      printTable(
        data.map((s) => ({
          ...s,
          sources: s.sources.join(','),
          service: [s.service.name, s.service.product, s.service.version].filter(Boolean).join(' '),
        })),
        [
          'host',
          'protocol',
          'port',
          'state',
          'evidence',
          'first_seen',
          'last_seen',
          'observations',
          'sources',
          'service',
        ],
      );
      if (count > data.length) process.stdout.write(`(${data.length} of ${count} shown)\n`);
    });

  services
    .command('changes')
    .description('list baseline changes (opened, closed, gone, reopened, approved…) since a time')
    .option('--since <when>', 'a duration back from now (24h, 7d) or an ISO time', '24h')
    .option('--host <host>', 'an IP address or CIDR block')
    .option('--json', 'print {"count": N, "data": [...]}')
    .action(async (opts: { since: string; host?: string; json?: boolean }) => {
      const target = resolveTarget();
      const params = new URLSearchParams({ since: opts.since, limit: '0' });
      if (opts.host) params.set('host', opts.host);
      const { body } = await callApi<{ count: number; data: ServiceChangeView[] }>(
        target,
        'GET',
        `/api/services/changes?${params}`,
      );
      if (opts.json) printJson(body);
      else
        printTable(
          body.data.map((c) => ({ ...c, detail: c.detail.source ?? c.detail.to ?? '' })),
          ['at', 'change', 'host', 'protocol', 'port', 'detail'],
        );
    });

  services
    .command('approve')
    .description('approve a service into the baseline with a business justification')
    .argument('<id>', 'service id (see services --json)')
    .requiredOption('--justification <text>', 'why this listener is allowed')
    .option('--expires <time>', 'ISO time when the approval lapses')
    .option('--json', 'print the updated service')
    .action(async (id: string, opts: { justification: string; expires?: string; json?: boolean }) => {
      const target = resolveTarget();
      const { body } = await callApi<ServiceView>(
        target,
        'POST',
        `/api/services/${encodeURIComponent(id)}/state`,
        {
          body: {
            state: 'approved',
            justification: opts.justification,
            ...(opts.expires ? { expires_at: opts.expires } : {}),
          },
        },
      );
      if (opts.json) printJson(body);
      else
        process.stdout.write(
          `approved ${body.host}:${body.port}/${body.protocol} (${body.justification ?? ''})\n`,
        );
    });
}
