import type { Command } from 'commander';

/** A domain's command-line part: the top-level commands it adds and how to load its registration. */
export interface CommandModule {
  /** Every top-level command name and alias the module registers. */
  names: readonly string[];
  /** Imports the module and returns its `register…Commands(program)`. */
  load: () => Promise<(program: Command) => void>;
}

/**
 * Every domain's CLI commands. A domain exports `register…Commands(program)` from its
 * `cli/…commands.ts` and adds one entry here naming the top-level commands it registers (a test
 * checks the names against what the module really registers). Modules are imported only when needed,
 * so `portcullis scan` does not load every other domain.
 */
export const COMMAND_MODULES: readonly CommandModule[] = [
  {
    names: ['user', 'token'],
    load: async () => (await import('../identity/identity.commands.ts')).registerIdentityCommands,
  },
  {
    names: ['ingest'],
    load: async () => (await import('../ingest/cli/ingest.commands.ts')).registerIngestCommands,
  },
  {
    names: ['services'],
    load: async () => (await import('../baseline/cli/services.commands.ts')).registerServiceCommands,
  },
  {
    names: ['scan', 'scope', 'scopes'],
    load: async () => (await import('../scan/cli/scan.commands.ts')).registerScanCommands,
  },
  {
    names: ['container', 'audit', 'vault'],
    load: async () => (await import('../automation/container.commands.ts')).registerContainerCommands,
  },
  {
    names: ['apps', 'asset', 'action', 'playbook', 'prompt'],
    load: async () => (await import('../automation/playbook.commands.ts')).registerAutomationCommands,
  },
];

/**
 * Registers the domains' commands on `program`. Given the top-level command about to run, only the
 * module that owns it is loaded; without one (or for a name no module owns, such as `help`), all are,
 * so help lists every command.
 */
export async function registerCommands(program: Command, commandName?: string): Promise<void> {
  const owner = commandName ? COMMAND_MODULES.find((m) => m.names.includes(commandName)) : undefined;
  const modules = owner ? [owner] : COMMAND_MODULES;
  const registers = await Promise.all(modules.map((m) => m.load()));
  for (const register of registers) register(program);
}
