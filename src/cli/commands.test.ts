import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { COMMAND_MODULES, registerCommands } from './commands.ts';

const namesOf = (program: Command) => program.commands.flatMap((c) => [c.name(), ...c.aliases()]).sort();

describe('CLI command modules', () => {
  it('each module registers exactly the top-level commands its entry names', async () => {
    for (const m of COMMAND_MODULES) {
      const program = new Command();
      (await m.load())(program);
      assert.deepEqual(namesOf(program), [...m.names].sort());
    }
  });

  it('no two modules claim the same command', () => {
    const all = COMMAND_MODULES.flatMap((m) => m.names);
    assert.equal(new Set(all).size, all.length);
  });

  it('loads only the owning module for a known command, and every module otherwise', async () => {
    const scan = new Command();
    await registerCommands(scan, 'scopes');
    assert.deepEqual(namesOf(scan), ['scan', 'scope', 'scopes']);
    for (const name of [undefined, 'help', 'no-such-command']) {
      const program = new Command();
      await registerCommands(program, name);
      assert.deepEqual(namesOf(program), COMMAND_MODULES.flatMap((m) => m.names).sort());
    }
  });
});
