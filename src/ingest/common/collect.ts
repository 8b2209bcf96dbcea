import type { Observation, ParseEvent, ParseIssue, ParseOptions, Parser } from '../observation.ts';

/** Everything one parser run produced, grouped (for tests and small inputs; not for huge files). */
export interface CollectedEvents {
  observations: Observation[];
  issues: ParseIssue[];
  records: number;
  events: ParseEvent[];
}

/** Runs `parser` over `chunks` and gathers its events. */
export async function collectEvents(
  parser: Parser,
  chunks: Iterable<Buffer | string> | AsyncIterable<Buffer | string>,
  opts: ParseOptions = {},
): Promise<CollectedEvents> {
  async function* source(): AsyncGenerator<Buffer | string> {
    yield* chunks;
  }
  const res: CollectedEvents = { observations: [], issues: [], records: 0, events: [] };
  for await (const e of parser(source(), opts)) {
    res.events.push(e);
    if (e.kind === 'observation') res.observations.push(e.observation);
    else if (e.kind === 'issue') res.issues.push(e.issue);
    else res.records++;
  }
  return res;
}

/** `host proto/port` keys of the observations with `grade`, sorted and deduplicated. */
export function listenerKeys(observations: Observation[], grade: Observation['grade'] = 'strong'): string[] {
  const keys = new Set(
    observations.filter((o) => o.grade === grade).map((o) => `${o.host} ${o.protocol}/${o.port}`),
  );
  return [...keys].sort();
}
