import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T extends object | null> = JSONColumnType<T, string, string>;

/** Per-source history of one service: when that source first and last saw it, and how often. */
export interface SourceStats {
  first_seen: string;
  last_seen: string;
  observations: number;
  evidence: 'strong' | 'weak';
}

/** Service details of the latest evidence (nmap -sV, banners, Zeek service). */
export interface ServiceDetailColumn {
  name?: string;
  product?: string;
  version?: string;
  extrainfo?: string;
  banner?: string;
  method?: string;
  conf?: number;
}

/** One baseline row per (host, protocol, port): the "KV store" record of a listener. */
export interface ServiceTable {
  id: Generated<number>;
  /** Canonical IP text (IPv6 RFC 5952, zone id kept). */
  host: string;
  /** The same address as `inet` (zone dropped): CIDR filters and address order. */
  addr: string;
  protocol: string;
  port: number;
  state: string;
  evidence: string;
  first_seen: Timestamp;
  last_seen: Timestamp;
  observations: number;
  sources: Json<Record<string, SourceStats>>;
  reason: string;
  last_source: string;
  service: Json<ServiceDetailColumn>;
  hostnames: Json<string[]>;
  justification: string | null;
  approver: string | null;
  expires_at: NullableTimestamp;
  tags: Json<string[]>;
  /** null: never alerted; `learned`: first seen strong in a learning run; `alerted`: a container was raised. */
  detection: string | null;
  container_id: number | null;
  gone_at: NullableTimestamp;
  /** Why it is gone: `closed` (evidence nothing listens), `unseen` (not seen for goneAfter), `manual`. */
  gone_reason: string | null;
  state_changed_at: Timestamp;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** What happened to a service, and when: opened, upgraded, closed, gone, reopened, approved… */
export interface ServiceChangeTable {
  id: Generated<number>;
  service_id: number;
  host: string;
  protocol: string;
  port: number;
  change: string;
  at: Timestamp;
  detail: Json<Record<string, unknown>>;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}

/** One row per import (file upload or CLI ingest) with its summary. */
export interface ImportTable {
  id: Generated<number>;
  file: string | null;
  format: string | null;
  host: string | null;
  learning: boolean | null;
  username: string | null;
  status: string;
  summary: Json<Record<string, unknown>>;
  error: string | null;
  started_at: Timestamp;
  finished_at: NullableTimestamp;
}

export interface BaselineTables {
  services: ServiceTable;
  service_changes: ServiceChangeTable;
  imports: ImportTable;
}
