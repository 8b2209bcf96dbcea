import type { Command } from 'commander';
import { callApi, resolveTarget } from '../../cli/client.ts';
import { printJson, printTable } from '../../cli/output.ts';
import type { ScopeView } from '../scope.repository.ts';

/**
 * `portcullis scope add|remove|list`: the CIDR blocks the scanner may scan (allow) or must skip
 * (`--exclude`). Also answers to `scopes`.
 */
export function registerScopeCommands(program: Command): void {
  const scope = program
    .command('scope')
    .alias('scopes')
    .description(
      'what the scanner may scan: CIDR allowlist plus exclusions (empty by default: nothing may be scanned)',
    );
  scope
    .command('add')
    .description('allow scanning a CIDR block (or, with --exclude, forbid it inside the allowed ones)')
    .argument('<cidr>', 'e.g. 198.18.0.0/15, fd00::/64, or one address')
    .option('--exclude', 'an exclusion instead of an allowed block')
    .option('--note <text>', 'why (shown in the list)')
    .option('--json', 'print JSON')
    .action(async (cidr: string, o: { exclude?: boolean; note?: string; json?: boolean }) => {
      const body = {
        cidr,
        kind: o.exclude ? 'exclude' : 'allow',
        ...(o.note !== undefined ? { note: o.note } : {}),
      };
      const { body: s } = await callApi<ScopeView>(resolveTarget(), 'POST', '/api/scopes', { body });
      if (o.json) return printJson(s);
      process.stdout.write(`${s.kind === 'allow' ? 'allowed' : 'excluded'} ${s.cidr} (scope ${s.id})\n`);
    });
  scope
    .command('remove')
    .alias('rm')
    .description('remove a scope entry by CIDR or id')
    .argument('<cidr-or-id>', 'the CIDR block as listed, or its id')
    .option('--exclude', 'only the exclusion of that block')
    .option('--json', 'print JSON')
    .action(async (ref: string, o: { exclude?: boolean; json?: boolean }) => {
      const q = o.exclude ? '?kind=exclude' : '';
      const { body } = await callApi<{ removed: number; data: ScopeView[] }>(
        resolveTarget(),
        'DELETE',
        `/api/scopes/${encodeURIComponent(ref)}${q}`,
      );
      if (o.json) return printJson(body);
      for (const s of body.data) process.stdout.write(`removed ${s.kind} ${s.cidr} (scope ${s.id})\n`);
    });
  scope
    .command('list')
    .alias('ls')
    .description('the scope entries')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const { body } = await callApi<{ count: number; data: ScopeView[] }>(
        resolveTarget(),
        'GET',
        '/api/scopes',
      );
      if (o.json) return printJson(body);
      if (body.data.length === 0) {
        process.stdout.write(
          'no scan scope: nothing may be scanned (add one with `portcullis scope add CIDR`)\n',
        );
        return;
      }
      printTable(body.data as unknown as Array<Record<string, unknown>>, [
        'id',
        'kind',
        'cidr',
        'note',
        'created_by',
        'created_at',
      ]);
    });
}
