import type { AppContext } from '../api/context.ts';
import { stopScanWorkers, warmScanWorkers } from './engine/connect-scan.ts';
import { failInterruptedRuns } from './scan.repository.ts';
import { scanSchedulerFor } from './scan.scheduler.ts';
import { scanRunnerFor } from './scan.service.ts';

export { parsePorts, formatPorts, ALL_PORTS_SPEC } from './port.parser.ts';
export {
  parseTargets,
  parseTarget,
  expandTargets,
  MAX_SCAN_HOSTS,
  type TargetSpec,
} from './target.parser.ts';
export { parseCidr, compileScope, type ScopeRule, type ScopeKind, type ScopeMatcher } from './scope.ts';
export { listScopes, addScope, removeScope, loadScopeRules, type ScopeView } from './scope.repository.ts';
export {
  connectScan,
  warmScanWorkers,
  stopScanWorkers,
  type PortState,
  type ProbeReason,
  type ProbeResult,
  type ConnectScanOptions,
  type ConnectScanResult,
} from './engine/connect-scan.ts';
export { grabBanner } from './engine/banner.ts';
export {
  prepareScan,
  scanRunnerFor,
  ScanRunner,
  type ScanRequest,
  type PreparedScan,
  type ScanOutcome,
  type ScanRunProgress,
} from './scan.service.ts';
export {
  getRun,
  listRuns,
  listResults,
  type ScanRunView,
  type ScanResultView,
  type ScanStatus,
} from './scan.repository.ts';
export { scanSchedulerFor, ScanScheduler, validateCron } from './scan.scheduler.ts';
export type { ScanTables } from './scan.table.ts';
export { registerScanRoutes } from './scan.routes.ts';
export { registerScanCommands } from './cli/scan.commands.ts';

/**
 * Starts the scanner's background work in a server: marks runs interrupted by a previous stop as
 * failed, starts the probe workers and the scan schedules, and registers their stop on shutdown.
 */
export async function startScanning(ctx: AppContext): Promise<void> {
  const n = await failInterruptedRuns(ctx.db, ctx.now());
  if (n > 0) ctx.logger.warn({ runs: n }, 'scans interrupted by the last stop were marked failed');
  warmScanWorkers();
  const scheduler = scanSchedulerFor(ctx);
  await scheduler.start();
  ctx.onShutdown(async () => {
    scheduler.stop();
    await scanRunnerFor(ctx).stop();
    await stopScanWorkers();
  });
}
