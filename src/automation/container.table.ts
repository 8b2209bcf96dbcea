import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { DecidedListTables } from './decided-list.table.ts';
import type { NoteTables } from './note.table.ts';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

/** A unit of work (alert or case), in Splunk SOAR's shape. */
export interface ContainerTable {
  id: Generated<number>;
  name: string;
  label: string;
  description: Generated<string>;
  severity: Generated<string>;
  sensitivity: Generated<string>;
  status: Generated<string>;
  container_type: Generated<string>;
  source_data_identifier: string | null;
  owner_id: number | null;
  tags: JSONColumnType<string[], string[] | undefined, string[]>;
  custom_fields: JSONColumnType<
    Record<string, unknown>,
    Record<string, unknown> | undefined,
    Record<string, unknown>
  >;
  data: JSONColumnType<Record<string, unknown>, Record<string, unknown> | undefined, Record<string, unknown>>;
  start_time: NullableTimestamp;
  end_time: NullableTimestamp;
  due_time: NullableTimestamp;
  close_time: NullableTimestamp;
  create_time: Timestamp;
  update_time: Timestamp;
}

/** A bag of CEF fields attached to a container. */
export interface ArtifactTable {
  id: Generated<number>;
  container_id: number;
  name: string;
  label: string;
  type: string;
  severity: Generated<string>;
  source_data_identifier: string | null;
  cef: JSONColumnType<Record<string, unknown>, Record<string, unknown> | undefined, Record<string, unknown>>;
  cef_types: JSONColumnType<
    Record<string, string[]>,
    Record<string, string[]> | undefined,
    Record<string, string[]>
  >;
  data: JSONColumnType<Record<string, unknown>, Record<string, unknown> | undefined, Record<string, unknown>>;
  tags: JSONColumnType<string[], string[] | undefined, string[]>;
  start_time: NullableTimestamp;
  end_time: NullableTimestamp;
  create_time: Timestamp;
  update_time: Timestamp;
}

/** A severity a container or artifact may have (`low`, `medium`, `high` and custom ones). */
export interface SeverityTable {
  id: Generated<number>;
  name: string;
  color: Generated<string>;
  position: Generated<number>;
}

/** A container status; custom ones map to one of the three types `new`, `open`, `closed`. */
export interface ContainerStatusTable {
  id: Generated<number>;
  name: string;
  status_type: 'new' | 'open' | 'closed';
}

export interface ContainerTables extends NoteTables, DecidedListTables {
  containers: ContainerTable;
  artifacts: ArtifactTable;
  severities: SeverityTable;
  container_statuses: ContainerStatusTable;
}
