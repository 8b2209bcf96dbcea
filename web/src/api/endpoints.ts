import { del, get, patch, post, qs, upload } from './client.ts';
import type {
  ActionRun,
  AppRun,
  Artifact,
  Container,
  ImportSummary,
  ListEnvelope,
  Note,
  PlaybookRun,
  Prompt,
  Service,
  ServiceChange,
} from './types.ts';

/**
 * Every server path the console calls, in one place. Listing paths are built here so pages share
 * parameter names with the server.
 */

export interface ServiceQuery {
  host?: string;
  port?: string;
  protocol?: string;
  state?: string;
  source?: string;
  evidence?: string;
  seen_since?: string;
  first_seen_since?: string;
  sort?: string;
  order?: 'asc' | 'desc';
  page: number;
  pageSize: number;
}

export function servicesPath(f: ServiceQuery): string {
  return `/api/services${qs({
    host: f.host,
    port: f.port,
    protocol: f.protocol,
    state: f.state,
    source: f.source,
    evidence: f.evidence,
    seen_since: f.seen_since,
    first_seen_since: f.first_seen_since,
    sort: f.sort,
    order: f.order,
    limit: f.pageSize,
    offset: f.page * f.pageSize,
  })}`;
}

export const serviceChangesPath = (since: string) => `/api/services/changes${qs({ since })}`;

/**
 * Approves services into the baseline with a business justification and an optional expiry (one
 * decision per service; the server records the approver).
 */
export async function approveServices(
  services: Array<Pick<Service, 'id'>>,
  justification: string,
  expiresAt: string | null,
): Promise<void> {
  for (const s of services) {
    await post(`/api/services/${s.id}/state`, { state: 'approved', justification, expires_at: expiresAt });
  }
}

/** Sets one service's state (`unapproved`: the port should not be open). */
export const setServiceState = (
  id: number,
  state: 'unapproved' | 'new' | 'approved',
  justification?: string,
) => post<Service>(`/api/services/${id}/state`, { state, ...(justification ? { justification } : {}) });

/** SOAR list parameters (`page` is 0-based; `_filter_` values are JSON-quoted). */
export function restPath(
  type: string,
  opts: {
    page?: number;
    pageSize?: number;
    sort?: string;
    order?: 'asc' | 'desc';
    filters?: Record<string, string | number | undefined>;
  } = {},
): string {
  const p: Record<string, string | number | undefined> = {
    page: opts.page,
    page_size: opts.pageSize,
    sort: opts.sort,
    order: opts.order,
  };
  for (const [k, v] of Object.entries(opts.filters ?? {})) {
    if (v === undefined || v === '') continue;
    p[`_filter_${k}`] = typeof v === 'number' ? String(v) : JSON.stringify(v);
  }
  return `/rest/${type}${qs(p)}`;
}

export const getContainer = (id: number) => get<Container>(`/rest/container/${id}`);
export const containerArtifactsPath = (id: number) =>
  restPath('artifact', { pageSize: 0, filters: { container: id } });
export const containerNotesPath = (id: number) =>
  restPath('note', { pageSize: 0, filters: { container: id } });
export const containerRunsPath = (id: number) =>
  restPath('playbook_run', { pageSize: 0, sort: 'id', order: 'desc', filters: { container: id } });
export const containerActionsPath = (id: number) =>
  restPath('action_run', { pageSize: 0, sort: 'id', order: 'desc', filters: { container: id } });
export const containerPromptsPath = (id: number) =>
  restPath('approval', { pageSize: 0, sort: 'id', order: 'desc', filters: { container: id } });
export const appRunsPath = (actionRunId: number) =>
  restPath('app_run', { pageSize: 0, filters: { action_run: actionRunId } });

export const addNote = (containerId: number, title: string, content: string) =>
  post<{ id: number; success: boolean }>('/rest/note', {
    container_id: containerId,
    title,
    content,
    note_type: 'general',
  });

export const updateContainer = (
  id: number,
  changes: Partial<Pick<Container, 'status' | 'severity' | 'owner_id'>>,
) => post<{ id: number; success: boolean }>(`/rest/container/${id}`, changes);

/** Answers a pending prompt (approval): one response per question, in order. */
export const answerPrompt = (id: number, responses: string[]) =>
  post<Prompt>(`/rest/approval/${id}`, { responses });

export const runPlaybook = (containerId: number, playbook: number | string, scope: 'new' | 'all' = 'new') =>
  post<{ playbook_run_id: number; recieved: boolean }>('/rest/playbook_run', {
    container_id: containerId,
    playbook_id: playbook,
    scope,
    run: true,
  });

export const cancelRun = (id: number) => post(`/rest/playbook_run/${id}`, { cancel: true });

export type {
  ActionRun,
  AppRun,
  Artifact,
  Container,
  ListEnvelope,
  Note,
  PlaybookRun,
  Prompt,
  Service,
  ServiceChange,
};

/** Uploads an evidence file to the baseline. */
export function importFile(
  file: File,
  format: string,
  host: string,
  learning: string,
  onProgress: (f: number) => void,
): Promise<ImportSummary> {
  const form = new FormData();
  // Text fields first: a streaming multipart parser sees them before the file.
  if (format) form.append('format', format);
  if (host) form.append('host', host);
  if (learning) form.append('learning', learning);
  form.append('file', file, file.name);
  return upload<ImportSummary>('/api/imports', form, onProgress);
}

export const createToken = (body: {
  name: string;
  kind: 'api' | 'hec';
  user?: string;
  expires_in?: string;
}) => post<{ id: number; token: string }>('/api/tokens', body);
export const revokeToken = (id: number) => del(`/api/tokens/${id}`);
export const createUser = (body: { username: string; role: string; password?: string }) =>
  post('/api/users', body);
export const patchUser = (user: string, body: { role?: string; disabled?: boolean; unlock?: boolean }) =>
  patch(`/api/users/${encodeURIComponent(user)}`, body);
