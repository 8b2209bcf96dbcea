/** Shapes the console reads from the server. Fields the server may omit are optional. */

export type ServiceState = 'new' | 'approved' | 'unapproved' | 'gone';

export interface ListEnvelope<T> {
  count: number;
  num_pages?: number;
  data: T[];
}

/** Service details of the latest evidence (nmap -sV, banners, Zeek service). */
export interface ServiceDetail {
  name?: string;
  product?: string;
  version?: string;
  extrainfo?: string;
  banner?: string;
  method?: string;
  conf?: number;
}

/** Per-source history of one service. */
export interface SourceStats {
  first_seen: string;
  last_seen: string;
  observations: number;
  evidence: 'strong' | 'weak';
}

/** A baseline row as `GET /api/services` returns it. */
export interface Service {
  id: number;
  host: string;
  protocol: string;
  port: number;
  state: ServiceState | string;
  evidence: 'strong' | 'weak' | string;
  first_seen: string;
  last_seen: string;
  sources: string[];
  source_details?: Record<string, SourceStats>;
  observations?: number;
  reason?: string;
  last_source?: string;
  service?: ServiceDetail | null;
  hostnames?: string[];
  justification?: string | null;
  approver?: string | null;
  expires_at?: string | null;
  tags?: string[];
  container_id?: number | null;
  gone_at?: string | null;
}

export interface ServiceChange {
  host: string;
  protocol: string;
  port: number;
  change: 'opened' | 'closed' | 'reopened' | string;
  at: string;
}

export interface Container {
  id: number;
  name: string;
  label: string;
  severity: string;
  status: string;
  sensitivity?: string;
  description?: string | null;
  owner_id?: number | null;
  owner?: string | null;
  owner_name?: string | null;
  status_type?: string;
  tags?: string[];
  source_data_identifier?: string | null;
  create_time?: string;
  update_time?: string;
  start_time?: string | null;
  due_time?: string | null;
  artifact_count?: number;
  data?: Record<string, unknown>;
}

export interface Artifact {
  id: number;
  container_id?: number;
  container?: number;
  name: string;
  label: string;
  severity?: string;
  cef: Record<string, unknown>;
  cef_types?: Record<string, string[]>;
  create_time?: string;
  source_data_identifier?: string | null;
}

export interface Note {
  id: number;
  container_id?: number;
  container?: number;
  title?: string | null;
  content: string;
  author?: string | number | null;
  author_name?: string | null;
  create_time?: string;
}

export interface PlaybookRun {
  id: number;
  playbook_id?: number | string;
  playbook?: number | string;
  playbook_name?: string;
  container_id?: number;
  container?: number;
  /** `running` until the run ends (Splunk SOAR's view); `state` tells pending, running and waiting apart. */
  status: string;
  state?: string;
  waiting_on_approval?: number | null;
  message?: string | null;
  start_time?: string;
  update_time?: string;
  end_time?: string | null;
  log?: Array<{ time?: string; at?: string; message: string; level?: string; step?: string }>;
  steps?: Array<{
    seq?: number;
    name?: string;
    step?: string;
    status: string;
    message?: string | null;
    started_at?: string;
    finished_at?: string;
  }>;
  messages?: Array<string | { message: string; time?: string }>;
}

export interface ActionRun {
  id: number;
  action: string;
  name?: string;
  status: string;
  container_id?: number;
  container?: number;
  playbook_run_id?: number | null;
  message?: string | null;
  create_time?: string;
  update_time?: string;
  result_summary?: Record<string, unknown>;
}

export interface AppRun {
  id: number;
  action_run?: number;
  action_run_id?: number;
  app?: string;
  app_name?: string;
  asset?: string | number;
  status: string;
  message?: string | null;
  summary?: Record<string, unknown>;
  result_data?: Array<{
    status?: string;
    message?: string;
    data?: unknown[];
    parameter?: Record<string, unknown>;
    summary?: Record<string, unknown>;
  }>;
}

/** One question of a prompt (Splunk SOAR's response_types). */
export type PromptQuestion =
  | { prompt: string; options: { type: 'list'; choices: string[] } }
  | { prompt: string; options: { type: 'message'; required?: boolean } };

/** A prompt (approval) as `/rest/approval` shows it. */
export interface Prompt {
  id: number;
  name: string;
  status: string;
  message: string;
  playbook_run: number | null;
  container: number | null;
  owner: string | null;
  owner_type: string;
  questions: PromptQuestion[];
  default_responses: string[];
  responses: string[];
  answered_by: string | null;
  start_time: string;
  due_time: string;
  close_time: string | null;
}

export interface Playbook {
  id: number;
  name: string;
  version?: number | string;
  active?: boolean;
  labels?: string[];
  label?: string | string[];
  description?: string | null;
  repo?: string;
  update_time?: string;
}

export interface App {
  id: string | number;
  appid?: string;
  name: string;
  description?: string;
  app_version?: string;
  product_vendor?: string;
  product_name?: string;
  type?: string;
  actions?: Array<string | AppAction>;
  configuration?: Record<
    string,
    { data_type?: string; required?: boolean; description?: string; order?: number; default?: unknown }
  >;
}

/** One action of an app manifest (Splunk SOAR's connector JSON). */
export interface AppAction {
  action: string;
  identifier?: string;
  description?: string;
  type?: string;
  read_only?: boolean;
  parameters?: Record<
    string,
    {
      data_type: string;
      required?: boolean;
      primary?: boolean;
      contains?: string[];
      order?: number;
      description?: string;
      default?: string | number | boolean;
      value_list?: string[];
    }
  >;
}

export interface Asset {
  id: number;
  name: string;
  app_id?: string | number;
  app?: string | number;
  product_name?: string;
  description?: string | null;
  configuration?: Record<string, unknown>;
  /** Secret settings: only whether each is set, never the value. */
  secret_configuration?: Record<string, 'set' | 'unset'>;
}

export interface AuditEntry {
  id: number;
  category?: string;
  time?: string;
  at?: string;
  created_at?: string;
  user?: string | null;
  username?: string | null;
  actor?: string | null;
  action?: string;
  type?: string;
  event?: string;
  object_type?: string | null;
  object_id?: string | number | null;
  container_id?: number | null;
  outcome?: string;
  ip?: string | null;
  details?: unknown;
  message?: string;
}

export interface User {
  id: number;
  username: string;
  role: string;
  disabled?: boolean;
  created_at?: string;
  last_login_at?: string | null;
  totp_enabled?: boolean;
}

export interface Token {
  id: number;
  name: string;
  kind: 'api' | 'hec' | string;
  prefix: string;
  username?: string;
  user_id?: number;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface Me {
  id?: number;
  totp_enabled?: boolean;
  /** An admin who must enrol TOTP first (PORTCULLIS_REQUIRE_ADMIN_TOTP): nothing else is allowed. */
  totp_enrolment_required?: boolean;
  userId?: number;
  username: string;
  role: string;
  csrf_token?: string;
  csrfToken?: string;
}

export interface Scope {
  id: number;
  cidr: string;
  kind: 'allow' | 'exclude' | string;
  note?: string;
  created_by?: string | null;
  created_at?: string;
}

/** A scan run as `/api/scans` shows it. */
export interface Scan {
  id: number;
  status: string;
  targets: string[];
  ports: string;
  schedule_id: number | null;
  requested_by?: string | null;
  hosts?: number;
  total: number;
  done: number;
  open: number;
  closed?: number;
  filtered?: number;
  error: string | null;
  started_at: string;
  finished_at: string | null;
  progress?: { done: number; total: number; rate: number; eta: number | null };
}

export interface ScanSchedule {
  id: number;
  name: string;
  cron: string;
  targets: string[];
  ports: string;
  enabled: boolean;
  created_at?: string;
  last_run_at: string | null;
  last_run_id?: number | null;
  next_run_at: string | null;
}

export interface ImportSummary {
  import_id?: number;
  format: string | null;
  file: string | null;
  records: number;
  observations: number;
  new_services: number;
  updated_services?: number;
  containers: number;
  learning: boolean;
  issues: Array<{ message: string; line?: number; offset?: number; pointer?: string; file?: string }>;
  issues_total: number;
  bytes?: number;
}
