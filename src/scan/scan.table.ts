import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T extends object | null> = JSONColumnType<T, string, string>;

/** A CIDR block the scanner may scan (`allow`) or must skip (`exclude`). */
export interface ScanScopeTable {
  id: Generated<number>;
  cidr: string;
  kind: string;
  note: Generated<string>;
  created_by: string | null;
  created_at: Timestamp;
}

/** Tuning a scan was asked with, as stored. */
export interface StoredScanOptions {
  timeoutMs?: number;
  rate?: number;
  concurrency?: number;
  retries?: number;
  banner?: boolean;
}

/** One scan: what was asked, how it went, counts by state. */
export interface ScanRunTable {
  id: Generated<number>;
  status: string;
  targets: Json<string[]>;
  ports: string;
  options: Json<StoredScanOptions>;
  schedule_id: number | null;
  requested_by: string | null;
  hosts: Generated<number>;
  total: Generated<number>;
  done: Generated<number>;
  open_count: Generated<number>;
  closed_count: Generated<number>;
  filtered_count: Generated<number>;
  error: string | null;
  baseline: Json<Record<string, unknown>> | null;
  started_at: Timestamp;
  finished_at: NullableTimestamp;
}

/** One probed port of a run (open ports always; closed/filtered ones for small scans). */
export interface ScanResultTable {
  id: Generated<number>;
  run_id: number;
  host: string;
  hostname: string | null;
  protocol: string;
  port: number;
  state: string;
  reason: string;
  rtt_ms: number | null;
  banner: string | null;
}

/** A scan that runs on a cron schedule. */
export interface ScanScheduleTable {
  id: Generated<number>;
  name: string;
  cron: string;
  targets: Json<string[]>;
  ports: string;
  options: Json<StoredScanOptions>;
  enabled: Generated<boolean>;
  created_at: Timestamp;
  last_run_at: NullableTimestamp;
  last_run_id: number | null;
}

/** The scanner's tables. */
export interface ScanTables {
  scan_scopes: ScanScopeTable;
  scan_runs: ScanRunTable;
  scan_results: ScanResultTable;
  scan_schedules: ScanScheduleTable;
}
