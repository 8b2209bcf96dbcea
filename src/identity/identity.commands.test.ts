import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { BIN, startServerProcess, type ServerProcess } from '../testing/server.ts';

/** Runs `portcullis ARGS` against the test server, with `input` on stdin. */
function cli(
  srv: ServerProcess,
  args: string[],
  input = '',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        PORTCULLIS_URL: srv.url,
        PORTCULLIS_TOKEN: srv.token,
        PORTCULLIS_DATA_DIR: srv.dataDir,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdin.end(input);
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `portcullis ARGS` on a pseudo-terminal (util-linux `script`), typing each answer after its prompt. */
function cliOnTty(
  srv: ServerProcess,
  args: string[],
  answers: Array<[prompt: string, answer: string]>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const p = spawn('script', ['-qec', [process.execPath, BIN, ...args].join(' '), '/dev/null'], {
      env: {
        ...process.env,
        PORTCULLIS_URL: srv.url,
        PORTCULLIS_TOKEN: srv.token,
        PORTCULLIS_DATA_DIR: srv.dataDir,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let next = 0;
    p.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      const a = answers[next];
      if (a && output.split(a[0]).length - 1 > answers.slice(0, next).filter((x) => x[0] === a[0]).length) {
        next++;
        p.stdin.write(`${a[1]}\r`);
      }
    });
    p.on('exit', (code) => resolve({ code, output }));
  });
}

describe('portcullis user / token', () => {
  let srv: ServerProcess;
  before(async () => {
    srv = await startServerProcess();
  });
  after(async () => {
    await srv?.stop();
    srv?.cleanup();
  });

  it('adds users, changes roles and passwords, and lists them without secrets', async () => {
    const pw = 'alice-first-password-1';
    const add = await cli(srv, ['user', 'add', 'alice', '--role', 'analyst', '--password-stdin'], `${pw}\n`);
    assert.equal(add.code, 0, add.stderr);
    const weak = await cli(
      srv,
      ['user', 'add', 'weakling', '--role', 'analyst', '--password-stdin'],
      'short\n',
    );
    assert.equal(weak.code, 2);
    assert.match(weak.stderr, /password: must be at least 12 characters/);
    const noTty = await cli(srv, ['user', 'add', 'bob', '--role', 'observer']);
    assert.equal(noTty.code, 2);
    assert.match(noTty.stderr, /--password-stdin/);
    const bot = await cli(srv, ['user', 'add', 'bot', '--role', 'automation']);
    assert.equal(bot.code, 0, bot.stderr);

    assert.equal((await cli(srv, ['user', 'role', 'alice', 'observer'])).code, 0);
    const badRole = await cli(srv, ['user', 'role', 'alice', 'king']);
    assert.equal(badRole.code, 2);
    const list = await cli(srv, ['user', 'list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const users = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
    const alice = users.find((u) => u.username === 'alice');
    assert.equal(alice?.role, 'observer');
    assert.equal(users.find((u) => u.username === 'bot')?.has_password, false);
    assert.ok(!list.stdout.includes('argon2'), 'user list shows a password hash');

    const pw2 = 'alice-second-password-2';
    assert.equal((await cli(srv, ['user', 'passwd', 'alice', '--password-stdin'], `${pw2}\n`)).code, 0);
    assert.equal((await srv.api('POST', '/api/login', { username: 'alice', password: pw })).status, 401);
    assert.equal((await srv.api('POST', '/api/login', { username: 'alice', password: pw2 })).status, 200);
    const pw3 = 'alice-typed-password-3';
    const typed = await cliOnTty(
      srv,
      ['user', 'passwd', 'alice'],
      [
        ['New password: ', pw3],
        ['Repeat it: ', pw3],
      ],
    );
    assert.equal(typed.code, 0, typed.output);
    assert.match(typed.output, /password of alice changed/);
    assert.ok(!typed.output.includes(pw3), 'the password was echoed on the terminal');
    assert.equal((await srv.api('POST', '/api/login', { username: 'alice', password: pw3 })).status, 200);
    const text = await cli(srv, ['user', 'list']);
    assert.match(text.stdout, /^ID\s+USERNAME\s+ROLE/m);
    assert.ok(![pw, pw2, pw3].some((p) => srv.output().includes(p)), 'a password appears in the server log');
  });

  it('creates a token shown once, lists it without the secret, and revokes it at once', async () => {
    const created = await cli(srv, [
      'token',
      'create',
      '--json',
      '--user',
      'alice',
      '--name',
      'alice script',
      '--expires',
      '30d',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const { id, token } = JSON.parse(created.stdout) as { id: number; token: string };
    assert.match(token, /^pct_/);
    const asAlice = await srv.api<{ username: string }>('GET', '/api/me', undefined, {
      'ph-auth-token': token,
    });
    assert.equal(asAlice.body.username, 'alice');

    const list = await cli(srv, ['token', 'list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const rows = JSON.parse(list.stdout) as Array<{ id: number; name: string; expires_at: string | null }>;
    const row = rows.find((r) => r.id === id);
    assert.equal(row?.name, 'alice script');
    assert.ok(row?.expires_at);
    assert.ok(!list.stdout.includes(token), 'token list shows the secret');

    assert.equal((await cli(srv, ['token', 'revoke', String(id)])).code, 0);
    assert.equal((await srv.api('GET', '/api/me', undefined, { 'ph-auth-token': token })).status, 401);
    assert.equal((await cli(srv, ['token', 'revoke', '999999'])).code, 2);

    const hec = await cli(srv, ['token', 'create', '--json', '--kind', 'hec', '--name', 'collector']);
    const hecToken = (JSON.parse(hec.stdout) as { token: string }).token;
    assert.match(hecToken, /^pch_/);
    assert.equal((await srv.api('GET', '/api/me', undefined, { 'ph-auth-token': hecToken })).status, 401);
    const plain = await cli(srv, ['token', 'create', '--name', 'printed']);
    assert.match(plain.stdout, /^pct_\S+\n$/);
    assert.match(plain.stderr, /not shown again/);
    assert.equal((await cli(srv, ['token', 'create', '--expires', 'someday'])).code, 2);
    for (const t of [token, hecToken, plain.stdout.trim()])
      assert.ok(!srv.output().includes(t), 'a token appears in the server log');
  });
});
