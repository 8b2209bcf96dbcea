import type { Command } from 'commander';
import { callApi, resolveTarget, type ClientTarget } from '../cli/client.ts';
import { printJson, printTable } from '../cli/output.ts';
import { AppError } from '../util/errors.ts';

type Row = Record<string, unknown>;
type Envelope = { count: number; num_pages: number; data: Row[] };

/** Parses repeated `key=value` options; a value that is JSON (number, true/false) keeps its type. */
function keyValues(list: string[], what: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of list) {
    const i = item.indexOf('=');
    if (i <= 0) throw new AppError('bad_option', `${what} "${item}": write key=value`);
    const raw = item.slice(i + 1);
    out[item.slice(0, i)] = /^(-?\d+(\.\d+)?|true|false)$/.test(raw) ? JSON.parse(raw) : raw;
  }
  return out;
}

const collect = (v: string, prev: string[]) => [...prev, v];

async function pollUntil<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end)
      throw new AppError('timeout', `${what} did not finish within ${timeoutMs / 1000} s`, {
        kind: 'operational',
      });
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function actionResults(t: ClientTarget, id: number): Promise<Row> {
  const run = await pollUntil(
    async () => {
      const r = (await callApi<Row>(t, 'GET', `/rest/action_run/${id}`)).body;
      return r.status === 'pending' || r.status === 'running' ? undefined : r;
    },
    15 * 60_000,
    `action run ${id}`,
  );
  const apps = (await callApi<Envelope>(t, 'GET', `/rest/app_run?_filter_action_run=${id}&page_size=0`)).body;
  return { ...run, app_runs: apps.data };
}

/**
 * `portcullis app|asset|action|playbook|prompt …`: apps and their assets, ad-hoc actions, playbooks
 * and their runs, and answering prompts, all through the REST API.
 */
export function registerAutomationCommands(program: Command): void {
  program
    .command('apps')
    .description('list the installed apps and their actions')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const body = (await callApi<Envelope>(resolveTarget(), 'GET', '/rest/app?page_size=0')).body;
      if (opts.json) return printJson(body);
      printTable(
        body.data.map((a) => ({
          name: a.name,
          appid: a.appid,
          actions: (a.actions as Row[]).map((x) => x.action).join(', '),
        })),
        ['name', 'appid', 'actions'],
      );
    });

  const asset = program
    .command('asset')
    .description('configured instances of apps (secret settings are write-only)');
  asset
    .command('list')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const body = (await callApi<Envelope>(resolveTarget(), 'GET', '/rest/asset?page_size=0')).body;
      if (opts.json) return printJson(body);
      printTable(
        body.data.map((a) => ({
          id: a.id,
          name: a.name,
          app: a.app,
          tags: (a.tags as string[]).join(','),
          secrets: Object.entries(a.secret_configuration as Row)
            .map(([k, v]) => `${k}:${String(v)}`)
            .join(' '),
        })),
        ['id', 'name', 'app', 'tags', 'secrets'],
      );
    });
  asset
    .command('add <name>')
    .description(
      'add an asset: asset add mail --app SMTP --set server=mail.example.com --set sender=pc@example.com --tag notify',
    )
    .requiredOption('--app <app>', 'app name or appid')
    .option('--set <key=value>', 'a setting (repeatable)', collect, [])
    .option(
      '--tag <tag>',
      'a tag (repeatable; "notify" makes the built-in playbook notify through it)',
      collect,
      [],
    )
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { app: string; set: string[]; tag: string[]; json?: boolean }) => {
      const appRef = /^[0-9a-f-]{36}$/i.test(opts.app) ? { app_id: opts.app } : { app: opts.app };
      const body = (
        await callApi<Row>(resolveTarget(), 'POST', '/rest/asset', {
          body: { name, ...appRef, configuration: keyValues(opts.set, '--set'), tags: opts.tag },
        })
      ).body;
      if (opts.json) printJson(body);
      else process.stdout.write(`asset ${name} added (id ${String(body.id)})\n`);
    });
  asset
    .command('set <id>')
    .description('change settings of an asset (key= with no value removes one)')
    .option('--set <key=value>', 'a setting (repeatable)', collect, [])
    .action(async (id: string, opts: { set: string[] }) => {
      const cfg = keyValues(opts.set, '--set');
      for (const [k, v] of Object.entries(cfg)) if (v === '') cfg[k] = null;
      await callApi(resolveTarget(), 'POST', `/rest/asset/${encodeURIComponent(id)}`, {
        body: { configuration: cfg },
      });
      process.stdout.write(`asset ${id} updated\n`);
    });
  asset
    .command('test <name>')
    .description("run the asset's app's test connectivity action")
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      const t = resolveTarget();
      const r = (
        await callApi<Row>(t, 'POST', '/rest/action_run', {
          body: { action: 'test connectivity', targets: [{ assets: [name] }] },
        })
      ).body;
      const res = await actionResults(t, Number(r.action_run_id));
      if (opts.json) printJson(res);
      else process.stdout.write(`${String(res.status)}: ${String(res.message)}\n`);
      if (res.status !== 'success') process.exitCode = 3;
    });

  program
    .command('action <action>')
    .description(
      'run an action and wait for its results: action "scan ports" --app "Port Check" --param ip=198.18.0.2 --param ports=22,80',
    )
    .option('--app <app>', 'app name or appid')
    .option('--asset <asset>', 'asset name (repeatable)', collect, [])
    .option('--param <key=value>', 'a parameter (repeatable)', collect, [])
    .option('--container <id>', 'container the action belongs to')
    .option('--json', 'print JSON')
    .action(
      async (
        action: string,
        opts: { app?: string; asset: string[]; param: string[]; container?: string; json?: boolean },
      ) => {
        const t = resolveTarget();
        const target = {
          ...(opts.app ? (/^[0-9a-f-]{36}$/i.test(opts.app) ? { app_id: opts.app } : { app: opts.app }) : {}),
          ...(opts.asset.length ? { assets: opts.asset } : {}),
          parameters: [keyValues(opts.param, '--param')],
        };
        const r = (
          await callApi<Row>(t, 'POST', '/rest/action_run', {
            body: {
              action,
              targets: [target],
              ...(opts.container ? { container_id: Number(opts.container) } : {}),
            },
          })
        ).body;
        const res = await actionResults(t, Number(r.action_run_id));
        if (opts.json) printJson(res);
        else {
          process.stdout.write(
            `action run ${String(res.id)}: ${String(res.status)} — ${String(res.message)}\n`,
          );
          for (const a of res.app_runs as Row[]) {
            const d = (a.result_data as Row[])[0] ?? {};
            process.stdout.write(
              `  ${String(a.asset_name ?? a.app_name)}: ${String(a.status)} ${String(a.message)}\n    data: ${JSON.stringify(d.data)}\n`,
            );
          }
        }
        if (res.status !== 'success') process.exitCode = 3;
      },
    );

  const playbook = program.command('playbook').description('playbooks and their runs');
  playbook
    .command('list')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const body = (await callApi<Envelope>(resolveTarget(), 'GET', '/rest/playbook?page_size=0')).body;
      if (opts.json) return printJson(body);
      printTable(
        body.data.map((p) => ({
          id: p.id,
          name: `${String(p.scm)}/${String(p.name)}`,
          version: p.version,
          active: p.active,
          labels: (p.labels as string[]).join(','),
        })),
        ['id', 'name', 'version', 'active', 'labels'],
      );
    });
  playbook
    .command('run <container> <playbook>')
    .description('run a playbook (id or local/name) on a container')
    .option('--scope <scope>', 'new, all, or artifact ids separated by commas', 'new')
    .option('--wait', 'wait until the run ends (a run waiting for a prompt keeps waiting)')
    .option('--json', 'print JSON')
    .action(
      async (container: string, pb: string, opts: { scope: string; wait?: boolean; json?: boolean }) => {
        const t = resolveTarget();
        const scope =
          opts.scope === 'new' || opts.scope === 'all' ? opts.scope : opts.scope.split(',').map(Number);
        const r = (
          await callApi<Row>(t, 'POST', '/rest/playbook_run', {
            body: {
              container_id: Number(container),
              playbook_id: /^\d+$/.test(pb) ? Number(pb) : pb,
              scope,
              run: true,
            },
          })
        ).body;
        const id = Number(r.playbook_run_id);
        let out: Row = r;
        if (opts.wait)
          out = await pollUntil(
            async () => {
              const x = (await callApi<Row>(t, 'GET', `/rest/playbook_run/${id}`)).body;
              return x.status === 'running' ? undefined : x;
            },
            24 * 3_600_000,
            `playbook run ${id}`,
          );
        if (opts.json) printJson(out);
        else
          process.stdout.write(
            opts.wait
              ? `playbook run ${id}: ${String(out.status)} — ${String(out.message)}\n`
              : `playbook run ${id} started\n`,
          );
        if (opts.wait && out.status !== 'success') process.exitCode = 3;
      },
    );
  playbook
    .command('runs')
    .description('recent playbook runs')
    .option('--container <id>', 'only runs on this container')
    .option('--limit <n>', 'how many (default 20)', '20')
    .option('--json', 'print JSON')
    .action(async (opts: { container?: string; limit: string; json?: boolean }) => {
      const q = `/rest/playbook_run?sort=id&order=desc&page_size=${Number(opts.limit)}${opts.container ? `&_filter_container=${Number(opts.container)}` : ''}`;
      const body = (await callApi<Envelope>(resolveTarget(), 'GET', q)).body;
      if (opts.json) return printJson(body);
      printTable(
        body.data.map((r) => ({
          id: r.id,
          playbook: r.playbook_name,
          container: r.container,
          state: r.state,
          message: r.message,
          started: r.create_time,
        })),
        ['id', 'playbook', 'container', 'state', 'message', 'started'],
      );
    });
  playbook
    .command('cancel <run>')
    .description('cancel a playbook run')
    .action(async (run: string) => {
      await callApi(resolveTarget(), 'POST', `/rest/playbook_run/${Number(run)}`, { body: { cancel: true } });
      process.stdout.write(`playbook run ${run}: cancel requested\n`);
    });

  const prompt = program.command('prompt').description('prompts (approvals) that playbooks wait on');
  prompt
    .command('list')
    .option('--all', 'also answered and expired ones')
    .option('--json', 'print JSON')
    .action(async (opts: { all?: boolean; json?: boolean }) => {
      const body = (
        await callApi<Envelope>(
          resolveTarget(),
          'GET',
          `/rest/approval?page_size=0&sort=id&order=desc${opts.all ? '' : '&_filter_status=%22pending%22'}`,
        )
      ).body;
      if (opts.json) return printJson(body);
      printTable(
        body.data.map((p) => ({
          id: p.id,
          status: p.status,
          container: p.container,
          to: p.owner ?? 'anyone',
          due: p.due_time,
          message: p.message,
          answers: (p.questions as Row[])
            .map(
              (q) =>
                `${String(q.prompt)}${(q.options as Row).type === 'list' ? ` [${((q.options as Row).choices as string[]).join('|')}]` : ''}`,
            )
            .join('; '),
        })),
        ['id', 'status', 'container', 'to', 'due', 'message', 'answers'],
      );
    });
  prompt
    .command('answer <id> <responses...>')
    .description(
      'answer a prompt, one response per question in order: prompt answer 7 approve "backup agent" 2027-06-30',
    )
    .option('--json', 'print JSON')
    .action(async (id: string, responses: string[], opts: { json?: boolean }) => {
      const body = (
        await callApi<Row>(resolveTarget(), 'POST', `/rest/approval/${Number(id)}`, { body: { responses } })
      ).body;
      if (opts.json) printJson(body);
      else process.stdout.write(`prompt ${id} answered: ${(body.responses as string[]).join(' | ')}\n`);
    });
}
