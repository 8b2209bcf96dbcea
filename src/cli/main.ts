import { Command } from 'commander';
import { AppError, exitCodeOf } from '../util/errors.ts';
import { VERSION } from '../version.ts';
import { registerCommands } from './commands.ts';

/** Top-level commands defined here rather than by a domain module. */
const OWN_COMMANDS = ['serve', 'status'];

/** Runs the `portcullis` command line. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('portcullis')
    .description('Portcullis: know every listening port on your network, notice new ones, respond.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });

  program
    .command('serve')
    .description('run the server (HTTPS UI, REST API, HEC ingest, collectors, scheduler) in the foreground')
    .action(serve);

  program
    .command('status')
    .description("show the configured server's health (PORTCULLIS_URL, default the local server)")
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const { callApi, resolveTarget } = await import('./client.ts');
      const { printJson } = await import('./output.ts');
      const target = resolveTarget();
      const { body } = await callApi<Record<string, unknown>>(target, 'GET', '/health', {
        auth: false,
        allowStatus: [503],
      });
      if (opts.json) printJson(body);
      else {
        const b = body ?? {};
        process.stdout.write(
          `${target.url}: ${String(b.status)} (version ${String(b.version)}, role ${String(b.role)}, database ${String(b.database)})\n`,
        );
      }
      if ((body as { status?: string })?.status !== 'ok') process.exitCode = 3;
    });

  try {
    // Load only the domain module the command needs: start-up time is most of a short command's.
    const args = argv.slice(2);
    const commandName = args.find((a) => !a.startsWith('-'));
    const versionOnly = commandName === undefined && args.some((a) => a === '-V' || a === '--version');
    if (!versionOnly && !(commandName && OWN_COMMANDS.includes(commandName)))
      await registerCommands(program, commandName);
    await program.parseAsync(argv);
  } catch (e) {
    reportAndExit(e);
  }
}

function reportAndExit(e: unknown): never {
  const msg = e instanceof AppError ? e.message : ((e as Error)?.stack ?? String(e));
  process.stderr.write(`portcullis: ${msg}\n`);
  process.exit(exitCodeOf(e));
}

async function serve(): Promise<void> {
  let config;
  try {
    // Loaded here, not at the top: other commands need neither, and the CLI should start fast.
    const { loadConfig } = await import('../config/index.ts');
    config = loadConfig();
  } catch (e) {
    reportAndExit(e);
  }
  const { createLogger } = await import('../logging/index.ts');
  const logger = createLogger(config.logLevel);
  const { startServer } = await import('../app.ts');
  let server;
  try {
    server = await startServer(config, logger);
  } catch (e) {
    logger.fatal({ code: (e as AppError).code }, (e as Error).message);
    logger.flush?.();
    reportAndExit(e);
  }
  let exiting = false;
  const shutdown = (signal: string) => {
    if (exiting) return;
    exiting = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    server.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
