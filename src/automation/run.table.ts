import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T extends object | null> = JSONColumnType<T, T | undefined, T>;

/** A configured instance of an app; secret settings are AES-256-GCM ciphertexts in `secrets`. */
export interface AssetTable {
  id: Generated<number>;
  name: string;
  app_id: string;
  description: Generated<string>;
  configuration: Json<Record<string, unknown>>;
  secrets: Json<Record<string, string>>;
  tags: Json<string[]>;
  create_time: Timestamp;
  update_time: Timestamp;
}

/** A registered playbook (code lives in the process; the row carries version, active flag, triggers). */
export interface PlaybookTable {
  id: Generated<number>;
  scm: Generated<string>;
  name: string;
  version: number;
  active: Generated<boolean>;
  description: Generated<string>;
  labels: Json<string[]>;
  tags: Json<string[]>;
  create_time: Timestamp;
  update_time: Timestamp;
}

export type PlaybookRunStatus = 'pending' | 'running' | 'waiting' | 'success' | 'failed' | 'cancelled';

export interface PlaybookRunTable {
  id: Generated<number>;
  playbook_id: number;
  playbook_version: number;
  container_id: number | null;
  scope: ColumnType<unknown, string | undefined, string>;
  trigger: Generated<string>;
  status: ColumnType<PlaybookRunStatus, PlaybookRunStatus | undefined, PlaybookRunStatus>;
  message: Generated<string>;
  messages: Json<string[]>;
  effective_user_id: number | null;
  attempts: Generated<number>;
  cancel_requested: Generated<boolean>;
  time_limit_ms: number;
  deadline: Timestamp;
  suspended_at: NullableTimestamp;
  create_time: Timestamp;
  start_time: NullableTimestamp;
  update_time: Timestamp;
  end_time: NullableTimestamp;
}

/** One completed step of a playbook run (the replay journal). */
export interface PlaybookRunStepTable {
  run_id: number;
  seq: number;
  kind: string;
  name: string;
  result: ColumnType<unknown, string | null, string | null>;
  create_time: Timestamp;
}

export type ActionRunStatus = 'pending' | 'running' | 'success' | 'failed' | 'cancelled';

export interface ActionRunTable {
  id: Generated<number>;
  action: string;
  name: string;
  type: Generated<string>;
  container_id: number | null;
  playbook_run_id: number | null;
  step_seq: number | null;
  status: ColumnType<ActionRunStatus, ActionRunStatus | undefined, ActionRunStatus>;
  message: Generated<string>;
  targets: Json<unknown[]>;
  timeout_ms: number;
  max_attempts: Generated<number>;
  cancel_requested: Generated<boolean>;
  created_by: number | null;
  create_time: Timestamp;
  start_time: NullableTimestamp;
  close_time: NullableTimestamp;
}

/** One app's result for one asset and one parameter set of an action run (SOAR's `action_result`). */
export interface AppRunTable {
  id: Generated<number>;
  action_run_id: number;
  app_id: string;
  app_name: string;
  asset_id: number | null;
  asset_name: string | null;
  action: string;
  status: string;
  message: Generated<string>;
  parameter: Json<Record<string, unknown>>;
  summary: Json<Record<string, unknown>>;
  data: Json<unknown[]>;
  data_vault_id: string | null;
  attempts: Generated<number>;
  create_time: Timestamp;
  end_time: NullableTimestamp;
}

export interface AutomationJobTable {
  id: Generated<number>;
  kind: 'playbook_run' | 'action_run';
  ref_id: number;
  run_after: Timestamp;
  locked_by: string | null;
  locked_until: NullableTimestamp;
  create_time: Timestamp;
}

export type PromptStatus = 'pending' | 'answered' | 'expired' | 'cancelled';

export interface PromptTable {
  id: Generated<number>;
  playbook_run_id: number | null;
  step_seq: number | null;
  container_id: number | null;
  name: string;
  message: string;
  questions: Json<unknown[]>;
  to_user: string | null;
  to_role: string | null;
  default_responses: Json<string[]>;
  status: ColumnType<PromptStatus, PromptStatus | undefined, PromptStatus>;
  responses: Json<string[]>;
  answered_by: string | null;
  due_time: Timestamp;
  start_time: Timestamp;
  close_time: NullableTimestamp;
}

export interface AutomationRunTables {
  assets: AssetTable;
  playbooks: PlaybookTable;
  playbook_runs: PlaybookRunTable;
  playbook_run_steps: PlaybookRunStepTable;
  action_runs: ActionRunTable;
  app_runs: AppRunTable;
  automation_jobs: AutomationJobTable;
  prompts: PromptTable;
}
