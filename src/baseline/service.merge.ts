import type { Observation, Protocol, SourceKind } from '../ingest/observation.ts';
import type { ServiceDetailColumn, SourceStats } from './service.table.ts';

/** Lifecycle state of a baseline row. */
export type ServiceState = 'new' | 'approved' | 'unapproved' | 'gone';
export const SERVICE_STATES: readonly ServiceState[] = ['new', 'approved', 'unapproved', 'gone'];

/** Best evidence a row has ever had. */
export type ServiceEvidence = 'strong' | 'weak';

/** What happened to a service; one row of `service_changes`. */
export type ServiceChangeKind =
  | 'opened'
  | 'upgraded'
  | 'closed'
  | 'gone'
  | 'reopened'
  | 'approved'
  | 'unapproved'
  | 'state'
  | 'approval_expired';

/** The identity of a baseline row. */
export interface ServiceKey {
  host: string;
  protocol: Protocol;
  port: number;
}

/** A baseline row as the domain sees it (dates as Date, JSON columns as objects). */
export interface ServiceRecord extends ServiceKey {
  /** Database id; undefined for a row not stored yet. */
  id?: number;
  state: ServiceState;
  evidence: ServiceEvidence;
  first_seen: Date;
  last_seen: Date;
  observations: number;
  sources: Record<string, SourceStats>;
  reason: string;
  last_source: string;
  service: ServiceDetailColumn;
  hostnames: string[];
  justification: string | null;
  approver: string | null;
  expires_at: Date | null;
  tags: string[];
  detection: 'learned' | 'alerted' | null;
  container_id: number | null;
  gone_at: Date | null;
  gone_reason: 'closed' | 'unseen' | 'manual' | null;
  state_changed_at: Date;
}

/** A change the merge made, to be recorded (and, with `alert`, raised as a detection). */
export interface MergeEvent {
  change: ServiceChangeKind;
  at: Date;
  detail: Record<string, unknown>;
  /** Set when this change must raise a container: a first strong sighting, or a reopened listener. */
  alert?: 'new' | 'reopened';
}

export interface MergeOptions {
  /** Learning run: rows are recorded, nothing alerts. */
  learning: boolean;
  /** The clock, for deciding whether evidence is fresh enough to reopen a gone listener. */
  now: Date;
  /** A listener not seen for this long is gone (ms). */
  goneAfterMs: number;
  /** Time for observations whose record gives none (the file's time, or the import's). */
  defaultSeenAt: Date;
}

export interface MergeResult {
  /** The row after the observation; undefined when none exists and none was created (negative evidence). */
  row: ServiceRecord | undefined;
  events: MergeEvent[];
  /** True when the row differs from the one given (it must be written). */
  changed: boolean;
}

const MAX_HOSTNAMES = 16;

/** The text key of a service, for maps: `host|protocol|port`. */
export function serviceKeyString(k: ServiceKey): string {
  return `${k.host}|${k.protocol}|${k.port}`;
}

/** A deep copy of a row, so merges never touch the caller's object. */
export function cloneRecord(r: ServiceRecord): ServiceRecord {
  const sources: Record<string, SourceStats> = {};
  for (const [k, v] of Object.entries(r.sources)) sources[k] = { ...v };
  return { ...r, sources, service: { ...r.service }, hostnames: [...r.hostnames], tags: [...r.tags] };
}

/**
 * Merges one observation into a baseline row (pure: the given row is not modified).
 *
 * Rules: negative evidence never creates a row; newer negative evidence closes an active row (`gone`,
 * change `closed`). Positive evidence creates the row (`opened`), extends first/last seen, upgrades the
 * best grade (`upgraded`), and reopens a gone row when it is newer than the closing and still fresh
 * (`reopened`). The observation count grows only for evidence outside the time window its source has
 * already covered, so re-ingesting the same evidence changes nothing. Strong evidence alerts once: on
 * the first strong sighting outside a learning run, and again when a gone listener reopens.
 */
export function mergeObservation(
  row: ServiceRecord | undefined,
  obs: Observation,
  opts: MergeOptions,
): MergeResult {
  const events: MergeEvent[] = [];
  const work = row ? cloneRecord(row) : undefined;
  const out = applyObservation(work, obs, opts, events);
  return { row: out.row, events, changed: out.changed };
}

/**
 * The in-place form of `mergeObservation` for batch writers: mutates `row` (which the caller owns)
 * and appends to `events`. Returns the row (new when one was created) and whether anything changed.
 */
export function applyObservation(
  row: ServiceRecord | undefined,
  obs: Observation,
  opts: MergeOptions,
  events: MergeEvent[],
): { row: ServiceRecord | undefined; changed: boolean } {
  const at = obs.seenAt ?? opts.defaultSeenAt;
  const t = at.getTime();
  if (obs.grade === 'negative') {
    if (!row || row.state === 'gone' || t <= row.last_seen.getTime()) return { row, changed: false };
    row.state = 'gone';
    row.gone_at = at;
    row.gone_reason = 'closed';
    row.state_changed_at = at;
    events.push({ change: 'closed', at, detail: { source: obs.source, reason: obs.reason } });
    return { row, changed: true };
  }
  const grade = obs.grade;
  if (!row) {
    const created: ServiceRecord = {
      host: obs.host,
      protocol: obs.protocol,
      port: obs.port,
      state: 'new',
      evidence: grade,
      first_seen: at,
      last_seen: at,
      observations: 1,
      sources: {
        [obs.source]: {
          first_seen: at.toISOString(),
          last_seen: at.toISOString(),
          observations: 1,
          evidence: grade,
        },
      },
      reason: obs.reason,
      last_source: obs.source,
      service: detailOf(obs),
      hostnames: obs.hostnames ? obs.hostnames.slice(0, MAX_HOSTNAMES) : [],
      justification: null,
      approver: null,
      expires_at: null,
      tags: [],
      detection: null,
      container_id: null,
      gone_at: null,
      gone_reason: null,
      state_changed_at: at,
    };
    const ev: MergeEvent = { change: 'opened', at, detail: evidenceDetail(obs, opts) };
    if (grade === 'strong') {
      if (opts.learning) created.detection = 'learned';
      else {
        created.detection = 'alerted';
        ev.alert = 'new';
      }
    }
    events.push(ev);
    return { row: created, changed: true };
  }

  let changed = false;
  // Per-source window: evidence inside what this source already reported is not counted again.
  const src = row.sources[obs.source];
  if (!src) {
    const iso = at.toISOString();
    const created = { first_seen: iso, last_seen: iso, observations: 1, evidence: grade };
    row.sources[obs.source] = created;
    WINDOWS.set(created, [t, t]);
    row.observations += 1;
    changed = true;
  } else {
    const w = windowOf(src);
    if (t > w[1] || t < w[0]) {
      src.observations += 1;
      row.observations += 1;
      if (t > w[1]) {
        src.last_seen = at.toISOString();
        w[1] = t;
      } else {
        src.first_seen = at.toISOString();
        w[0] = t;
      }
      changed = true;
    }
    if (grade === 'strong' && src.evidence !== 'strong') {
      src.evidence = 'strong';
      changed = true;
    }
  }
  if (t < row.first_seen.getTime()) {
    row.first_seen = at;
    changed = true;
  }
  const newest = t >= row.last_seen.getTime();
  const wasGone = row.state === 'gone';
  // A closed port reopens only on evidence newer than the closing; one that went unseen, on any
  // evidence newer than its last sighting. Either way the evidence must be fresh (not itself gone).
  const after = row.gone_reason === 'closed' && row.gone_at ? row.gone_at.getTime() : row.last_seen.getTime();
  if (wasGone && t > after && t > row.last_seen.getTime() && opts.now.getTime() - t < opts.goneAfterMs) {
    row.state = 'new';
    row.gone_at = null;
    row.gone_reason = null;
    row.state_changed_at = at;
    const ev: MergeEvent = { change: 'reopened', at, detail: evidenceDetail(obs, opts) };
    if (grade === 'strong' && !opts.learning) {
      ev.alert = 'reopened';
      row.detection = 'alerted';
    }
    events.push(ev);
    changed = true;
  }
  if (t > row.last_seen.getTime()) {
    row.last_seen = at;
    changed = true;
  }
  if (grade === 'strong' && row.evidence === 'weak') {
    row.evidence = 'strong';
    const ev: MergeEvent = { change: 'upgraded', at, detail: evidenceDetail(obs, opts) };
    if (row.detection === null) {
      if (opts.learning) row.detection = 'learned';
      else if (row.state !== 'gone') {
        row.detection = 'alerted';
        ev.alert = 'new';
      }
    }
    events.push(ev);
    changed = true;
  }
  if (newest) {
    // The latest evidence describes the row; details a source does not give are kept from earlier ones.
    if (row.reason !== obs.reason || row.last_source !== obs.source) {
      row.reason = obs.reason;
      row.last_source = obs.source;
      changed = true;
    }
    if (obs.service) {
      // A loop rather than Object.entries: batch writers replay every event of an import through here.
      const svc = obs.service as Record<string, unknown>;
      const cur = row.service as Record<string, unknown>;
      for (const k in svc) {
        const v = svc[k];
        if (v !== undefined && cur[k] !== v) {
          cur[k] = v;
          changed = true;
        }
      }
    }
  }
  if (obs.hostnames) {
    for (const h of obs.hostnames) {
      if (row.hostnames.length >= MAX_HOSTNAMES) break;
      if (!row.hostnames.includes(h)) {
        row.hostnames.push(h);
        changed = true;
      }
    }
  }
  return { row, changed };
}

/**
 * Replays queued observations into `row` with exactly the effect of calling `applyObservation` for each
 * in turn (the caller owns `row`; `templates` are not modified). `seq` holds pairs: an index into
 * `templates` and the evidence time in ms (NaN when the record gives none), in arrival order.
 *
 * Flows repeat one piece of evidence over and over with a rising time. Once a template has described the
 * row (it was the newest evidence and nothing newer replaced it), a repeat that is newer still only
 * counts and moves the last-seen times, and a repeat inside the windows already covered does nothing:
 * both are applied here without a Date per observation or a walk through the merge rules. Everything
 * else goes through `applyObservation`.
 */
export function applyObservationSeq(
  row: ServiceRecord | undefined,
  templates: readonly Observation[],
  seq: readonly number[],
  opts: MergeOptions,
  events: MergeEvent[],
): { row: ServiceRecord | undefined; changed: boolean } {
  // One reusable observation per template; only its time changes from one replay to the next.
  const scratch = templates.map((t) => ({ ...t }));
  const defaultT = opts.defaultSeenAt.getTime();
  let changed = false;
  // The template whose evidence the row's description (reason, source, service details, hostnames,
  // grades) already holds, or -1.
  let describedBy = -1;
  // Newest time applied by the quick path and not yet written to the row's and its source's last seen.
  let pending = NaN;
  let pendingSrc: SourceStats | undefined;
  const settle = (r: ServiceRecord) => {
    if (Number.isNaN(pending)) return;
    const at = new Date(pending);
    r.last_seen = at;
    pendingSrc!.last_seen = at.toISOString();
    pending = NaN;
  };
  for (let i = 0; i < seq.length; i += 2) {
    const ti = seq[i]!;
    const raw = seq[i + 1]!;
    const t = Number.isNaN(raw) ? defaultT : raw;
    const o = scratch[ti]!;
    if (ti === describedBy && row !== undefined && row.state !== 'gone' && o.grade !== 'negative') {
      const src = row.sources[o.source];
      if (src) {
        const w = windowOf(src);
        const last = Number.isNaN(pending) ? row.last_seen.getTime() : pending;
        if (t > last && t > w[1]) {
          // Newer than anything seen: counted, last seen moves; nothing else changes.
          src.observations += 1;
          row.observations += 1;
          w[1] = t;
          pending = t;
          pendingSrc = src;
          changed = true;
          continue;
        }
        if (t >= w[0] && t <= w[1] && t <= last && t >= row.first_seen.getTime()) continue;
      }
    }
    settle(row!);
    const newest = row === undefined || t >= row.last_seen.getTime();
    o.seenAt = Number.isNaN(raw) ? null : new Date(raw);
    const r = applyObservation(row, o, opts, events);
    row = r.row;
    changed ||= r.changed;
    if (o.grade !== 'negative' && newest) describedBy = ti;
  }
  if (row) settle(row);
  return { row, changed };
}

// The per-source window as numbers, so merging a million observations parses no date strings.
const WINDOWS = new WeakMap<SourceStats, [number, number]>();
function windowOf(src: SourceStats): [number, number] {
  let w = WINDOWS.get(src);
  if (!w) {
    w = [Date.parse(src.first_seen), Date.parse(src.last_seen)];
    WINDOWS.set(src, w);
  }
  return w;
}

function detailOf(obs: Observation): ServiceDetailColumn {
  const out: ServiceDetailColumn = {};
  if (obs.service)
    for (const [k, v] of Object.entries(obs.service))
      if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function evidenceDetail(obs: Observation, opts: MergeOptions): Record<string, unknown> {
  return {
    source: obs.source,
    reason: obs.reason,
    evidence: obs.grade,
    ...(obs.service?.name ? { service: obs.service.name } : {}),
    ...(opts.learning ? { learning: true } : {}),
  };
}

/** The row's sources, in the order first reported. */
export function sourceNames(r: Pick<ServiceRecord, 'sources'>): SourceKind[] {
  return Object.keys(r.sources) as SourceKind[];
}
