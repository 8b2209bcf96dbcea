import type { Observation } from '../ingest/observation.ts';

// The checks of the baseline writer that parse workers apply too (see BaselineWriter.pushGrouped): kept
// apart from the writer so a worker thread loads them without the database and automation modules.

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);
const GRADES = new Set(['strong', 'weak', 'negative']);

/** Why an observation cannot be recorded, or null when it can. */
export function observationProblem(o: Observation): string | null {
  if (typeof o.host !== 'string' || o.host === '' || o.host.length > 64)
    return `invalid host ${JSON.stringify(o.host)}`;
  if (!PROTOCOLS.has(o.protocol)) return `invalid protocol ${JSON.stringify(o.protocol)}`;
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)
    return `port ${String(o.port)} out of range 0-65535`;
  if (!GRADES.has(o.grade)) return `invalid evidence grade ${JSON.stringify(o.grade)}`;
  if (o.seenAt !== null && !(o.seenAt instanceof Date && !Number.isNaN(o.seenAt.getTime())))
    return 'invalid seenAt';
  return null;
}

/** True when two observations of one service say the same thing but (maybe) at another time. */
export function sameEvidence(a: Observation, b: Observation): boolean {
  if (a.source !== b.source || a.grade !== b.grade || a.reason !== b.reason) return false;
  if (a.service !== b.service) {
    if (!a.service || !b.service) return false;
    // Loops rather than Object.keys: this runs once per event of million-event imports.
    const sa = a.service as Record<string, unknown>;
    const sb = b.service as Record<string, unknown>;
    let na = 0;
    for (const k in sa) {
      if (sa[k] !== sb[k]) return false;
      na++;
    }
    for (const k in sb) {
      if (!(k in sa)) return false;
      na--;
    }
    if (na !== 0) return false;
  }
  if (a.hostnames !== b.hostnames) {
    if (!a.hostnames || !b.hostnames || a.hostnames.length !== b.hostnames.length) return false;
    for (let i = 0; i < a.hostnames.length; i++) if (a.hostnames[i] !== b.hostnames[i]) return false;
  }
  return true;
}
