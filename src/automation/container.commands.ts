import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { callApi, resolveTarget } from '../cli/client.ts';
import { printJson, printTable } from '../cli/output.ts';
import { AppError } from '../util/errors.ts';

type Envelope = { count: number; num_pages: number; data: Array<Record<string, unknown>> };

const collect = (v: string, prev: string[]) => [...prev, v];

function checkId(id: string, what: string): string {
  if (!/^\d+$/.test(id)) throw new AppError('bad_id', `${what} id "${id}": must be a number`);
  return id;
}

/**
 * Turns `--filter field=value` options into `_filter_` parameters. A value that is a number,
 * true/false/null, a list or already quoted is passed as written; anything else is quoted as a string.
 */
export function filterParams(filters: string[]): URLSearchParams {
  const p = new URLSearchParams();
  for (const f of filters) {
    const i = f.indexOf('=');
    if (i <= 0)
      throw new AppError(
        'bad_filter',
        `--filter ${JSON.stringify(f)}: write it as field=value (e.g. label=events, id__gt=10)`,
      );
    const field = f.slice(0, i);
    const value = f.slice(i + 1);
    const literal = /^(-?\d+(\.\d+)?|true|false|null|".*"|'.*'|\[.*\]|\(.*\))$/s.test(value);
    p.append(`_filter_${field}`, literal ? value : JSON.stringify(value));
  }
  return p;
}

/** `portcullis container …`, `portcullis audit` and `portcullis vault add`: the /rest objects from a shell. */
export function registerContainerCommands(program: Command): void {
  const container = program.command('container').description('containers (alerts and cases) and their notes');

  container
    .command('list')
    .description('list containers, newest first')
    .option('--label <label>', 'only this label')
    .option('--status <status>', 'only this status')
    .option(
      '--filter <field=value>',
      'any _filter_ (repeatable): severity=high, name__icontains=ssh, id__gt=10',
      collect,
      [],
    )
    .option('--limit <n>', 'how many (0 = all)', '50')
    .option('--json', 'print the list envelope as JSON')
    .action(
      async (o: { label?: string; status?: string; filter: string[]; limit: string; json?: boolean }) => {
        const filters = [...o.filter];
        if (o.label) filters.push(`label=${JSON.stringify(o.label)}`);
        if (o.status) filters.push(`status=${JSON.stringify(o.status)}`);
        const p = filterParams(filters);
        if (!/^\d+$/.test(o.limit))
          throw new AppError('bad_limit', `--limit ${o.limit}: must be a whole number`);
        p.set('page_size', o.limit);
        p.set('sort', 'id');
        p.set('order', 'desc');
        const { body } = await callApi<Envelope>(resolveTarget(), 'GET', `/rest/container?${p}`);
        if (o.json) return printJson(body);
        printTable(body.data, [
          'id',
          'label',
          'status',
          'severity',
          'owner_name',
          'artifact_count',
          'create_time',
          'name',
        ]);
        if (body.count > body.data.length)
          process.stderr.write(`${body.data.length} of ${body.count} shown (--limit 0 for all)\n`);
      },
    );

  container
    .command('show <id>')
    .description('one container with its artifacts and notes')
    .option('--json', 'print as JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      checkId(id, 'container');
      const t = resolveTarget();
      const c = (await callApi<Record<string, unknown>>(t, 'GET', `/rest/container/${id}`)).body;
      const artifacts = (await callApi<Envelope>(t, 'GET', `/rest/container/${id}/artifacts?page_size=0`))
        .body.data;
      const notes = (await callApi<Envelope>(t, 'GET', `/rest/container/${id}/notes?page_size=0`)).body.data;
      if (o.json) return printJson({ ...c, artifacts, notes });
      for (const k of [
        'id',
        'name',
        'label',
        'status',
        'severity',
        'sensitivity',
        'owner_name',
        'source_data_identifier',
        'create_time',
        'close_time',
      ])
        process.stdout.write(`${k.padEnd(23)} ${c[k] ?? ''}\n`);
      process.stdout.write('\nARTIFACTS\n');
      printTable(artifacts, ['id', 'label', 'name', 'cef']);
      process.stdout.write('\nNOTES\n');
      printTable(notes, ['id', 'author_name', 'create_time', 'title', 'content']);
    });

  container
    .command('set <id>')
    .description('change a container: status, severity, owner, sensitivity, label')
    .option('--status <status>')
    .option('--severity <severity>')
    .option('--owner <user>', 'username or user id; "" clears it')
    .option('--sensitivity <tlp>', 'white, green, amber or red')
    .option('--label <label>')
    .action(
      async (
        id: string,
        o: { status?: string; severity?: string; owner?: string; sensitivity?: string; label?: string },
      ) => {
        checkId(id, 'container');
        const body: Record<string, unknown> = {};
        if (o.status !== undefined) body.status = o.status;
        if (o.severity !== undefined) body.severity = o.severity;
        if (o.owner !== undefined) body.owner_id = o.owner === '' ? null : o.owner;
        if (o.sensitivity !== undefined) body.sensitivity = o.sensitivity;
        if (o.label !== undefined) body.label = o.label;
        if (!Object.keys(body).length)
          throw new AppError(
            'nothing_to_do',
            'give at least one of --status, --severity, --owner, --sensitivity, --label',
          );
        await callApi(resolveTarget(), 'POST', `/rest/container/${id}`, { body });
        process.stdout.write(`container ${id} updated\n`);
      },
    );

  container
    .command('note <id> <content>')
    .description('add a note to a container')
    .option('--title <title>', 'note title', '')
    .action(async (id: string, content: string, o: { title: string }) => {
      checkId(id, 'container');
      const { body } = await callApi<{ id: number }>(resolveTarget(), 'POST', '/rest/note', {
        body: { container_id: Number(id), title: o.title, content },
      });
      process.stdout.write(`note ${body.id} added to container ${id}\n`);
    });

  program
    .command('audit')
    .description('the audit trail: container changes and security events (admins)')
    .option('--container <id>', 'only this container')
    .option('--category <category>', 'container or security')
    .option('--user <name>', 'only this actor')
    .option('--since <time>', 'ISO-8601 time')
    .option('--limit <n>', 'how many, newest first (0 = all)', '50')
    .option('--json', 'print the list envelope as JSON')
    .option('--jsonl', 'export every matching entry as JSON lines, oldest first')
    .action(
      async (o: {
        container?: string;
        category?: string;
        user?: string;
        since?: string;
        limit: string;
        json?: boolean;
        jsonl?: boolean;
      }) => {
        const p = new URLSearchParams();
        if (o.container) p.set('container', checkId(o.container, 'container'));
        if (o.category) p.set('_filter_category', JSON.stringify(o.category));
        if (o.user) p.set('user', o.user);
        if (o.since) p.set('start', o.since);
        const t = resolveTarget();
        if (o.jsonl) {
          const res = await callApi<unknown>(t, 'GET', `/api/audit/export?${p}`);
          // The server answers JSON lines; the client hands them over as text (one line parses as JSON).
          if (res.body === null) return;
          process.stdout.write(typeof res.body === 'string' ? res.body : `${JSON.stringify(res.body)}\n`);
          return;
        }
        if (!/^\d+$/.test(o.limit))
          throw new AppError('bad_limit', `--limit ${o.limit}: must be a whole number`);
        p.set('page_size', o.limit);
        p.set('sort', 'id');
        p.set('order', 'desc');
        const { body } = await callApi<Envelope>(t, 'GET', `/rest/audit?${p}`);
        if (o.json) return printJson(body);
        printTable(
          body.data.map((e) => ({ ...e, object: `${e.object_type} ${e.object_id ?? ''}`.trim() })),
          ['time', 'actor', 'category', 'action', 'object', 'container_id', 'details'],
        );
      },
    );

  program
    .command('vault')
    .description('the vault (content-addressed files)')
    .command('add <file>')
    .description('store a file in the vault, attached to a container')
    .option('--container <id>', 'container to attach it to')
    .option('--json', 'print the answer as JSON')
    .action(async (file: string, o: { container?: string; json?: boolean }) => {
      const data = await readFile(file).catch((e: Error) => {
        throw new AppError('file_unreadable', `${file}: ${e.message}`);
      });
      const { body } = await callApi<{ vault_id: string; id: number; size: number }>(
        resolveTarget(),
        'POST',
        '/rest/vault_add',
        {
          body: {
            container_id: o.container ? Number(checkId(o.container, 'container')) : null,
            file_name: basename(file),
            file_content: data.toString('base64'),
          },
        },
      );
      if (o.json) return printJson(body);
      process.stdout.write(`${body.vault_id}  ${body.size} bytes\n`);
    });
}
