import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COMMAND_MODULES } from './commands.ts';

const BIN = fileURLToPath(new URL('../../bin/portcullis.js', import.meta.url));
const run = (...args: string[]) => execFileSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

describe('portcullis command line', () => {
  it('--help lists every command, although commands load their modules lazily', () => {
    const help = run('--help');
    const listed = new Set(
      [...help.matchAll(/^ {2}([a-z-]+)(?:\|([a-z-]+))?/gm)].flatMap((m) => [m[1], m[2]]),
    );
    for (const name of ['serve', 'status', ...COMMAND_MODULES.flatMap((m) => m.names)])
      assert.ok(listed.has(name), `--help does not list ${name}`);
  });

  it('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.equal(run('--version').trim(), pkg.version);
  });

  it('a command with --help loads its module and shows its options', () => {
    const help = run('scan', '--help');
    assert.match(help, /--ports <ports>/);
    assert.match(run('scope', 'list', '--help'), /Usage: portcullis scope(\|scopes)? list/);
  });
});
