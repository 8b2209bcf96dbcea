import type { Command } from 'commander';
import {
  callApi,
  errorMessage,
  openRequest,
  readText,
  resolveTarget,
  type ClientTarget,
} from '../../cli/client.ts';
import { printJson, printTable } from '../../cli/output.ts';
import { AppError } from '../../util/errors.ts';
import type { ScanResultView, ScanRunView } from '../scan.repository.ts';
import type { ScheduleView } from '../schedule.repository.ts';
import { registerScopeCommands } from './scope.commands.ts';

interface ScanOpts {
  ports?: string;
  timeout?: string;
  rate?: string;
  concurrency?: string;
  retries?: string;
  banner?: boolean;
  json?: boolean;
  all?: boolean;
  detach?: boolean;
}

/** What `POST /api/scans` with `wait: true` streams, one JSON object a line. */
type ScanEvent =
  | { event: 'started'; scan: ScanRunView }
  | { event: 'progress'; done: number; total: number; rate: number; eta: number | null }
  | {
      event: 'finished';
      scan: ScanRunView & { duration_ms: number; cancelled: boolean };
      all_states: boolean;
      data: ScanResultView[];
    }
  | { event: 'failed'; code: string; message: string };

const DEFAULT_PORTS = '1-1024';

function intOpt(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new AppError(
      'bad_option',
      `--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`,
    );
  return n;
}

function scanBody(targets: string[], o: ScanOpts): Record<string, unknown> {
  const body: Record<string, unknown> = { targets, ports: o.ports ?? DEFAULT_PORTS };
  const timeout = intOpt('timeout', o.timeout, 10, 60_000);
  const rate = intOpt('rate', o.rate, 0, 10_000_000);
  const concurrency = intOpt('concurrency', o.concurrency, 1, 20_000);
  const retries = intOpt('retries', o.retries, 0, 10);
  if (timeout !== undefined) body.timeout_ms = timeout;
  if (rate !== undefined) body.rate = rate;
  if (concurrency !== undefined) body.concurrency = concurrency;
  if (retries !== undefined) body.retries = retries;
  if (o.banner) body.banner = true;
  return body;
}

function withScanOptions(cmd: Command): Command {
  return cmd
    .option(
      '-p, --ports <ports>',
      `ports in nmap syntax: 22,80,1000-2000; "-" (or -p-) for all 65535 (default ${DEFAULT_PORTS})`,
    )
    .option(
      '--timeout <ms>',
      'longest wait for an answer per probe; the timeout adapts to measured round trips below it (default 1000)',
    )
    .option('--rate <n>', 'most new connections per second (default unlimited)')
    .option('--concurrency <n>', 'most connections in flight (default 512)')
    .option('--retries <n>', 'extra tries for ports that did not answer (default 2)')
    .option('--banner', 'keep the first bytes each open port sends');
}

/**
 * `portcullis scan TARGETS -p PORTS`: a TCP connect scan run by the server (which checks the scan
 * scopes first); `scan list|show|cancel`, `scan schedule add|list|remove|enable|disable|run`, and the
 * `scope` commands.
 */
export function registerScanCommands(program: Command): void {
  const scan = withScanOptions(
    program
      .command('scan')
      .description(
        'TCP connect scan of TARGETS (addresses, CIDR blocks, ranges like 198.18.0.1-20, host names) run by the server.\n' +
          'Only targets inside the scan scopes are scanned (see `portcullis scope`). Shows open ports; --all adds closed\n' +
          'and filtered ones (kept for scans of up to 131072 probes). Ctrl-C cancels the scan and keeps what was found.',
      )
      .argument('[targets...]', 'what to scan'),
  )
    .option('--json', 'print {"data": [rows], "scan": {...}} as JSON')
    .option('--all', 'also list closed and filtered ports')
    .option('--detach', 'start the scan and print its id without waiting')
    .action(async (targets: string[], _o: ScanOpts, cmd: Command) => {
      if (targets.length === 0)
        throw new AppError('no_targets', 'name what to scan: portcullis scan TARGETS -p PORTS (see --help)');
      await runScan(targets, cmd.opts<ScanOpts>());
    });

  scan
    .command('list')
    .description('recent scans, newest first')
    .option('--limit <n>', 'how many (default 50)')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ json?: boolean; limit?: string }>();
      const limit = intOpt('limit', o.limit, 0, 10_000) ?? 50;
      const { body } = await callApi<{ count: number; data: ScanRunView[] }>(
        resolveTarget(),
        'GET',
        `/api/scans?limit=${limit}`,
      );
      if (o.json) return printJson(body);
      printTable(
        body.data.map((r) => ({ ...r, targets: r.targets.join(' ') })),
        [
          'id',
          'status',
          'targets',
          'ports',
          'hosts',
          'open',
          'closed',
          'filtered',
          'started_at',
          'requested_by',
        ],
      );
    });

  scan
    .command('show')
    .description('the stored results of one scan')
    .argument('<id>', 'scan id')
    .option('--state <states>', 'only these states, e.g. open or open,filtered')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ json?: boolean; state?: string; all?: boolean }>();
      const n = intOpt('id', id, 1, Number.MAX_SAFE_INTEGER)!;
      const state = o.state ?? (o.all ? '' : 'open');
      const { body } = await callApi<{ scan: ScanRunView; data: ScanResultView[] }>(
        resolveTarget(),
        'GET',
        `/api/scans/${n}/results${state ? `?state=${encodeURIComponent(state)}` : ''}`,
      );
      if (o.json) return printJson(body);
      printResults(body.data);
      process.stdout.write(`${summaryLine(body.scan)}\n`);
    });

  scan
    .command('cancel')
    .description('stop a running scan (what it found so far is kept)')
    .argument('<id>', 'scan id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const n = intOpt('id', id, 1, Number.MAX_SAFE_INTEGER)!;
      const { body } = await callApi<{ id: number; cancelled: boolean; status: string }>(
        resolveTarget(),
        'POST',
        `/api/scans/${n}/cancel`,
      );
      if (cmd.optsWithGlobals<{ json?: boolean }>().json) return printJson(body);
      process.stdout.write(
        body.cancelled ? `scan ${n}: cancelling\n` : `scan ${n} is not running (${body.status})\n`,
      );
    });

  registerScheduleCommands(scan);
  registerScopeCommands(program);
}

function registerScheduleCommands(scan: Command): void {
  const schedule = scan
    .command('schedule')
    .description('scans that run on a cron schedule, kept across restarts');
  schedule
    .command('add')
    .description(
      'add a scheduled scan, e.g.: scan schedule add --name nightly --cron "0 2 * * *" -p- 198.18.0.0/24',
    )
    .argument('<targets...>', 'what to scan')
    .requiredOption(
      '--cron <expr>',
      'cron expression (minute hour day month weekday, optionally seconds first)',
    )
    .option('--name <name>', 'a unique name (default: derived from the targets)')
    .option('--disabled', 'store it switched off')
    .action(async (targets: string[], _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<ScanOpts & { cron: string; name?: string; disabled?: boolean }>();
      const body = {
        ...scanBody(targets, o),
        cron: o.cron,
        name: o.name ?? `scan ${targets.join(' ')}`,
        enabled: !o.disabled,
      };
      const { body: s } = await callApi<ScheduleView & { next_run_at: string | null }>(
        resolveTarget(),
        'POST',
        '/api/scans/schedules',
        { body },
      );
      if (o.json) return printJson(s);
      process.stdout.write(`schedule ${s.id} (${s.name}): ${s.cron}, next run ${s.next_run_at ?? 'never'}\n`);
    });
  schedule
    .command('list')
    .description('the scheduled scans')
    .action(async (_o: unknown, cmd: Command) => {
      const { body } = await callApi<{ data: Array<ScheduleView & { next_run_at: string | null }> }>(
        resolveTarget(),
        'GET',
        '/api/scans/schedules',
      );
      if (cmd.optsWithGlobals<{ json?: boolean }>().json) return printJson(body);
      printTable(
        body.data.map((s) => ({ ...s, targets: s.targets.join(' ') })),
        ['id', 'name', 'cron', 'targets', 'ports', 'enabled', 'next_run_at', 'last_run_at', 'last_run_id'],
      );
    });
  const byRef = (verb: string, desc: string, run: (ref: string, json: boolean) => Promise<void>) =>
    schedule
      .command(verb)
      .description(desc)
      .argument('<schedule>', 'schedule id or name')
      .action(async (ref: string, _o: unknown, cmd: Command) =>
        run(ref, Boolean(cmd.optsWithGlobals<{ json?: boolean }>().json)),
      );
  byRef('remove', 'delete a scheduled scan (its past runs stay)', async (ref, json) => {
    const { body } = await callApi<{ removed: number; data: ScheduleView[] }>(
      resolveTarget(),
      'DELETE',
      `/api/scans/schedules/${encodeURIComponent(ref)}`,
    );
    if (json) return printJson(body);
    process.stdout.write(`removed schedule ${body.data[0]?.id} (${body.data[0]?.name})\n`);
  });
  for (const [verb, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const)
    byRef(verb, `${verb} a scheduled scan`, async (ref, json) => {
      const { body } = await callApi<ScheduleView>(
        resolveTarget(),
        'PATCH',
        `/api/scans/schedules/${encodeURIComponent(ref)}`,
        { body: { enabled } },
      );
      if (json) return printJson(body);
      process.stdout.write(`schedule ${body.id} (${body.name}) ${enabled ? 'enabled' : 'disabled'}\n`);
    });
  byRef('run', 'run a scheduled scan now', async (ref, json) => {
    const { body } = await callApi<ScanRunView>(
      resolveTarget(),
      'POST',
      `/api/scans/schedules/${encodeURIComponent(ref)}/run`,
    );
    if (json) return printJson(body);
    process.stdout.write(`scan ${body.id} started\n`);
  });
}

function printResults(rows: ScanResultView[]): void {
  if (rows.length === 0) return;
  const withBanner = rows.some((r) => r.banner !== undefined);
  const withName = rows.some((r) => r.hostname !== undefined);
  printTable(rows as unknown as Array<Record<string, unknown>>, [
    'host',
    ...(withName ? ['hostname'] : []),
    'port',
    'protocol',
    'state',
    'reason',
    ...(withBanner ? ['banner'] : []),
  ]);
}

function summaryLine(s: ScanRunView & { duration_ms?: number }): string {
  const took = s.duration_ms !== undefined ? ` in ${(s.duration_ms / 1000).toFixed(2)} s` : '';
  return `scan ${s.id} ${s.status}: ${s.done}/${s.total} ports on ${s.hosts} host${s.hosts === 1 ? '' : 's'}${took}: ${s.open} open, ${s.closed} closed, ${s.filtered} filtered`;
}

async function runScan(targets: string[], o: ScanOpts): Promise<void> {
  const target = resolveTarget();
  const body = scanBody(targets, o);
  if (o.detach) {
    const { body: run } = await callApi<ScanRunView>(target, 'POST', '/api/scans', { body });
    if (o.json) return printJson(run);
    process.stdout.write(`scan ${run.id} started\n`);
    return;
  }
  const tty = Boolean(process.stderr.isTTY);
  let runId = 0;
  let interrupted = 0;
  const onSigint = () => {
    interrupted++;
    if (interrupted > 1 || !runId) process.exit(130);
    process.stderr.write('\ncancelling the scan (Ctrl-C again to quit at once)…\n');
    callApi(target, 'POST', `/api/scans/${runId}/cancel`).catch(() => undefined);
  };
  process.on('SIGINT', onSigint);
  try {
    const final = await streamScan(target, { ...body, wait: true, all_states: Boolean(o.all) }, (ev) => {
      if (ev.event === 'started') runId = ev.scan.id;
      else if (ev.event === 'progress' && tty) {
        const pct = ev.total ? Math.floor((ev.done / ev.total) * 100) : 0;
        const eta = ev.eta === null ? '' : `, ETA ${ev.eta}s`;
        process.stderr.write(`\r\x1b[Kscan ${runId}: ${ev.done}/${ev.total} (${pct}%), ${ev.rate}/s${eta}`);
      }
    });
    if (tty) process.stderr.write('\r\x1b[K');
    if (o.json) printJson({ data: final.data, scan: final.scan });
    else {
      printResults(final.data);
      process.stdout.write(`${summaryLine(final.scan)}\n`);
      if (!final.all_states && o.all)
        process.stdout.write('(closed and filtered ports are not kept for scans this large)\n');
    }
    if (final.scan.status === 'cancelled') process.exitCode = 130;
    else if (final.scan.status === 'failed') process.exitCode = 3;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

async function streamScan(
  target: ClientTarget,
  body: Record<string, unknown>,
  onEvent: (ev: ScanEvent) => void,
): Promise<Extract<ScanEvent, { event: 'finished' }>> {
  if (!target.token)
    throw new AppError(
      'no_token',
      "no API token: set PORTCULLIS_TOKEN, or run next to the server's data dir (PORTCULLIS_DATA_DIR)",
    );
  const res = await openRequest(
    target,
    'POST',
    '/api/scans',
    { 'ph-auth-token': target.token, 'content-type': 'application/json' },
    JSON.stringify(body),
  );
  const status = res.statusCode ?? 0;
  if (status >= 400) {
    throw new AppError('api_error', `POST /api/scans: HTTP ${status}: ${errorMessage(await readText(res))}`, {
      kind: status >= 500 ? 'operational' : 'user',
    });
  }
  let pending: string[] = [];
  let final: Extract<ScanEvent, { event: 'finished' }> | undefined;
  const handle = (line: string) => {
    if (!line.trim()) return;
    const ev = JSON.parse(line) as ScanEvent;
    if (ev.event === 'failed')
      throw new AppError(ev.code || 'scan_failed', `scan failed: ${ev.message}`, { kind: 'operational' });
    if (ev.event === 'finished') final = ev;
    onEvent(ev);
  };
  res.setEncoding('utf8');
  // A result line can be megabytes long: look for line ends only in new chunks.
  for await (const chunk of res as AsyncIterable<string>) {
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf('\n', start)) >= 0) {
      pending.push(chunk.slice(start, nl));
      handle(pending.join(''));
      pending = [];
      start = nl + 1;
    }
    if (start < chunk.length) pending.push(chunk.slice(start));
  }
  handle(pending.join(''));
  if (!final)
    throw new AppError('scan_interrupted', 'the server closed the scan stream before the scan ended', {
      kind: 'operational',
    });
  return final;
}
