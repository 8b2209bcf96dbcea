import type { Command } from 'commander';
import { registerContainerCommands } from '../automation/container.commands.ts';
import { registerAutomationCommands } from '../automation/playbook.commands.ts';
import { registerIdentityCommands } from '../identity/identity.commands.ts';
import { registerServiceCommands } from '../baseline/cli/services.commands.ts';
import { registerIngestCommands } from '../ingest/cli/ingest.commands.ts';
import { registerScanCommands } from '../scan/cli/scan.commands.ts';

/**
 * Registers every domain's CLI commands. A domain exports `register…Commands(program)` from its
 * `cli/…commands.ts` and adds one line here.
 */
export function registerCommands(program: Command): void {
  void program;
  registerIdentityCommands(program);
  registerIngestCommands(program);
  registerServiceCommands(program);
  registerScanCommands(program);
  registerContainerCommands(program);
  registerAutomationCommands(program);
}
