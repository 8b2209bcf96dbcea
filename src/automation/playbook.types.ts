import type { PlaybookSdk } from './sdk.ts';

/** A playbook: TypeScript code against the SDK, registered under a name and a version. */
export interface PlaybookDefinition {
  /** Unique name; the REST API also accepts `local/<name>`. */
  readonly name: string;
  /** Bump when the code changes; runs record the version they started with. */
  readonly version: number;
  readonly description?: string;
  /** Container labels that trigger it (on a new container, or a new artifact with run_automation). */
  readonly labels: readonly string[];
  readonly tags?: readonly string[];
  /** Active on first registration (default true); afterwards the stored flag decides. */
  readonly active?: boolean;
  /** Working-time limit of one run in ms (time spent waiting for a prompt does not count). */
  readonly timeLimitMs?: number;
  /**
   * The playbook. It must reach the outside world only through `pb`, and take the same path again
   * for the same step results: after a restart it is run again from the top and completed steps
   * return their stored results instead of running again. The string returned is the run's message.
   */
  run(pb: PlaybookSdk): Promise<string | void>;
}

/** Registered playbook definitions of this process, by name. */
export class PlaybookRegistry {
  readonly #defs = new Map<string, PlaybookDefinition>();

  register(def: PlaybookDefinition): void {
    if (!/^[a-z][a-z0-9_]*$/.test(def.name))
      throw new Error(`playbook name "${def.name}" must be lower_snake_case`);
    if (!Number.isInteger(def.version) || def.version < 1)
      throw new Error(`playbook ${def.name}: version must be a positive integer`);
    if (this.#defs.has(def.name)) throw new Error(`playbook ${def.name} is registered twice`);
    this.#defs.set(def.name, def);
  }

  get(name: string): PlaybookDefinition | undefined {
    return this.#defs.get(name);
  }

  list(): PlaybookDefinition[] {
    return [...this.#defs.values()];
  }
}
