import type { Command } from 'commander';
import { callApi, resolveTarget } from '../cli/client.ts';
import { printJson, printTable } from '../cli/output.ts';
import { AppError } from '../util/errors.ts';

/** Reads a whole stream's first line (for `--password-stdin`). */
async function firstLineOf(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

// Typed-ahead input left over after one prompt's line, for the next prompt.
let typedAhead = '';

/** Asks for a password on the terminal without echoing it. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY)
    throw new AppError('no_tty', 'no terminal to ask for the password on: pipe it in with --password-stdin');
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const take = (text: string): boolean => {
      for (let i = 0; i < text.length; i++) {
        const ch = text[i]!;
        if (ch === '\r' || ch === '\n') {
          typedAhead = text.slice(i + 1).replace(/^\n/, '');
          done();
          return true;
        }
        if (ch === '\u0003') {
          done(new AppError('cancelled', 'cancelled'));
          return true;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
      return false;
    };
    const onData = (buf: Buffer) => void take(buf.toString('utf8'));
    // Echo off before the prompt shows, so nothing typed after it can appear.
    stdin.setRawMode(true);
    process.stderr.write(prompt);
    const pending = typedAhead;
    typedAhead = '';
    if (take(pending)) return;
    stdin.on('data', onData);
    stdin.resume();
  });
}

async function newPassword(fromStdin: boolean | undefined): Promise<string> {
  if (fromStdin) {
    const p = await firstLineOf(process.stdin);
    if (!p) throw new AppError('empty_password', '--password-stdin: stdin held no password');
    return p;
  }
  const first = await promptHidden('New password: ');
  const again = await promptHidden('Repeat it: ');
  if (first !== again) throw new AppError('password_mismatch', 'the two passwords differ');
  return first;
}

/** `--expires 30d` (a duration) or `--expires 2027-01-31T00:00:00Z` (a date) → the API's fields. */
export function expiryFields(expires: string | undefined): { expires_in?: string; expires_at?: string } {
  if (!expires) return {};
  if (/^\d+(s|m|h|d)$/.test(expires)) return { expires_in: expires };
  const d = new Date(expires);
  if (Number.isNaN(d.getTime()))
    throw new AppError(
      'bad_expiry',
      `--expires "${expires}": give a duration (90m, 24h, 30d) or an ISO date`,
    );
  return { expires_at: d.toISOString() };
}

const enc = encodeURIComponent;

/** `portcullis user …` and `portcullis token …`. */
export function registerIdentityCommands(program: Command): void {
  const user = program.command('user').description('manage users and their roles (admin)');

  user
    .command('add <username>')
    .description('create a user (asks for a password unless --no-password; automation users get none)')
    .requiredOption('--role <role>', 'admin, analyst, observer or automation')
    .option('--password-stdin', 'read the password from stdin instead of asking')
    .option('--no-password', 'no password: the user signs in only with API tokens')
    .option('--json', 'print JSON')
    .action(
      async (
        username: string,
        opts: { role: string; passwordStdin?: boolean; password?: boolean; json?: boolean },
      ) => {
        const wantsPassword = opts.password !== false && (opts.role !== 'automation' || opts.passwordStdin);
        const password = wantsPassword ? await newPassword(opts.passwordStdin) : undefined;
        const { body } = await callApi<Record<string, unknown>>(resolveTarget(), 'POST', '/api/users', {
          body: { username, role: opts.role, ...(password ? { password } : {}) },
        });
        if (opts.json) printJson(body);
        else
          process.stdout.write(
            `created user ${String(body.username)} (id ${String(body.id)}, role ${String(body.role)})\n`,
          );
      },
    );

  user
    .command('passwd <username>')
    .description("set a user's password (ends their browser sessions)")
    .option('--password-stdin', 'read the password from stdin instead of asking')
    .action(async (username: string, opts: { passwordStdin?: boolean }) => {
      const password = await newPassword(opts.passwordStdin);
      await callApi(resolveTarget(), 'PUT', `/api/users/${enc(username)}/password`, { body: { password } });
      process.stdout.write(`password of ${username} changed\n`);
    });

  user
    .command('role <username> <role>')
    .description("change a user's role")
    .action(async (username: string, role: string) => {
      const { body } = await callApi<Record<string, unknown>>(
        resolveTarget(),
        'PATCH',
        `/api/users/${enc(username)}`,
        { body: { role } },
      );
      process.stdout.write(`${username} is now ${String(body.role)}\n`);
    });

  for (const [verb, patch, doc] of [
    ['disable', { disabled: true }, 'disable a user (ends their sessions; their tokens stop working)'],
    ['enable', { disabled: false }, 'enable a disabled user'],
    ['unlock', { unlock: true }, 'clear a login lockout'],
  ] as const) {
    user
      .command(`${verb} <username>`)
      .description(doc)
      .action(async (username: string) => {
        await callApi(resolveTarget(), 'PATCH', `/api/users/${enc(username)}`, { body: patch });
        process.stdout.write(`${username}: ${verb}d\n`);
      });
  }

  user
    .command('list')
    .description('list users')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const { body } = await callApi<{ data: Array<Record<string, unknown>> }>(
        resolveTarget(),
        'GET',
        '/api/users',
      );
      if (opts.json) printJson(body.data);
      else
        printTable(body.data, [
          'id',
          'username',
          'role',
          'disabled',
          'totp_enabled',
          'locked_until',
          'last_login_at',
        ]);
    });

  const token = program.command('token').description('manage API tokens (ph-auth-token) and HEC tokens');

  token
    .command('create')
    .description('create a token; it is shown once, only its hash is stored')
    .option('--name <name>', 'what the token is for')
    .option('--user <username>', 'owner (default: you; others need admin)')
    .option('--kind <kind>', 'api (REST, ph-auth-token) or hec (HEC ingest only)', 'api')
    .option('--expires <when>', 'a duration (30d, 12h) or an ISO date; default: never')
    .option('--json', 'print {"id", "token", …}')
    .action(
      async (opts: { name?: string; user?: string; kind: string; expires?: string; json?: boolean }) => {
        if (opts.kind !== 'api' && opts.kind !== 'hec')
          throw new AppError('bad_kind', `--kind "${opts.kind}": must be api or hec`);
        const { body } = await callApi<{
          id: number;
          token: string;
          name: string;
          kind: string;
          user: string;
          expires_at: string | null;
        }>(resolveTarget(), 'POST', '/api/tokens', {
          body: {
            kind: opts.kind,
            ...(opts.name ? { name: opts.name } : {}),
            ...(opts.user ? { user: opts.user } : {}),
            ...expiryFields(opts.expires),
          },
        });
        if (opts.json) printJson(body);
        else {
          process.stdout.write(`${body.token}\n`);
          process.stderr.write(
            `token ${body.id} (${body.kind}, user ${body.user}${body.expires_at ? `, expires ${body.expires_at}` : ''}): copy it now, it is not shown again\n`,
          );
        }
      },
    );

  token
    .command('list')
    .description('list tokens (never their secrets)')
    .option('--user <username>', "only this user's tokens")
    .option('--json', 'print JSON')
    .action(async (opts: { user?: string; json?: boolean }) => {
      const q = opts.user ? `?user=${enc(opts.user)}` : '';
      const { body } = await callApi<{ data: Array<Record<string, unknown>> }>(
        resolveTarget(),
        'GET',
        `/api/tokens${q}`,
      );
      if (opts.json) printJson(body.data);
      else
        printTable(body.data, [
          'id',
          'username',
          'name',
          'kind',
          'prefix',
          'created_at',
          'last_used_at',
          'expires_at',
          'revoked_at',
        ]);
    });

  token
    .command('revoke <id>')
    .description('revoke a token; it is refused from the next request on')
    .action(async (id: string) => {
      if (!/^\d+$/.test(id))
        throw new AppError('bad_id', `token id "${id}": must be a number (see portcullis token list)`);
      await callApi(resolveTarget(), 'DELETE', `/api/tokens/${id}`);
      process.stdout.write(`token ${id} revoked\n`);
    });
}
