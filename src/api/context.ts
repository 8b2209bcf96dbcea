import type { Kysely } from 'kysely';
import type { Config } from '../config/index.ts';
import type { Logger } from '../logging/index.ts';
import type { Database, Store } from '../store/index.ts';

/**
 * What every route and background worker gets: configuration, the database, the logger. Domains take
 * what they need from here; nothing reaches for globals.
 */
export interface AppContext {
  readonly config: Config;
  readonly store: Store;
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  /** The clock, injectable for tests. */
  readonly now: () => Date;
  /** Registers work to stop on shutdown (timers, collectors, workers), run in reverse order. */
  onShutdown(fn: () => Promise<void> | void): void;
}
