import type { Logger } from '../logging/index.ts';
import type { HttpClient } from './app.http.ts';
import type { AppManifest } from './app.manifest.ts';

/** Everything an app's code may touch while it runs one action: its only way out of the process. */
export interface ActionContext {
  /** The action's identifier from the manifest (e.g. `block_port`). */
  readonly action: string;
  /** The asset's configuration, secrets decrypted; `{}` for apps run without an asset. */
  readonly asset: Readonly<Record<string, unknown>>;
  readonly assetName: string | null;
  readonly containerId: number | null;
  readonly logger: Logger;
  /** Aborted when the action is cancelled or runs past its time limit. */
  readonly signal: AbortSignal;
  /** HTTP confined to the asset's `allowed_destinations`. */
  readonly http: HttpClient;
  /**
   * Why `address` may not be probed, or null when it lies inside the configured scan scopes. Apps that
   * send packets to a target (port checks, scans) must ask before any packet leaves: the scopes are
   * the operator's allowlist, and the default scope is empty.
   */
  scanRefusal(address: string): Promise<string | null>;
  /** Stores a file in the vault (attached to the container when there is one); returns its vault id. */
  vaultPut(fileName: string, content: Buffer | string): Promise<string>;
}

/** What an app returns for one parameter set (SOAR's `action_result`, minus the parameter echo). */
export interface ActionOutcome {
  status: 'success' | 'failed';
  message: string;
  summary?: Record<string, unknown>;
  data?: unknown[];
}

/** An app: a validated manifest plus the code that runs its actions. */
export interface AppDefinition {
  readonly manifest: AppManifest;
  execute(ctx: ActionContext, params: Record<string, unknown>): Promise<ActionOutcome>;
}
