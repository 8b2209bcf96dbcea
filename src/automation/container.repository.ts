import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/index.ts';

/** An artifact as given inline with a new container (Splunk SOAR's shape, no container_id). */
export interface NewArtifact {
  name?: string;
  label?: string;
  type?: string;
  severity?: string;
  source_data_identifier?: string | null;
  cef?: Record<string, unknown>;
  cef_types?: Record<string, string[]>;
  data?: Record<string, unknown>;
  tags?: string[];
  start_time?: string | Date | null;
  end_time?: string | Date | null;
}

export interface NewContainer {
  name: string;
  label?: string;
  description?: string;
  severity?: string;
  sensitivity?: string;
  status?: string;
  container_type?: string;
  source_data_identifier?: string | null;
  owner_id?: number | null;
  tags?: string[];
  custom_fields?: Record<string, unknown>;
  data?: Record<string, unknown>;
  start_time?: string | Date | null;
  end_time?: string | Date | null;
  due_time?: string | Date | null;
  artifacts?: NewArtifact[];
}

export type ArtifactResult = { id: number } | { existing_artifact_id: number } | { failed: true; message: string };

export type CreateContainerResult =
  | { created: true; id: number; artifacts: ArtifactResult[] }
  | { created: false; existing_container_id: number };

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Creates a container with its inline artifacts in one transaction, deduplicated by
 * `source_data_identifier`: a second container with the same identifier is not created and the
 * existing id is returned instead.
 */
export async function createContainer(db: Kysely<Database>, input: NewContainer): Promise<CreateContainerResult> {
  return db.transaction().execute(async (tx) => {
    if (input.source_data_identifier) {
      const existing = await tx
        .selectFrom('containers')
        .select('id')
        .where('source_data_identifier', '=', input.source_data_identifier)
        .executeTakeFirst();
      if (existing) return { created: false as const, existing_container_id: existing.id };
    }
    const inserted = await tx
      .insertInto('containers')
      .values({
        name: input.name,
        label: input.label ?? 'events',
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.severity !== undefined ? { severity: input.severity } : {}),
        ...(input.sensitivity !== undefined ? { sensitivity: input.sensitivity } : {}),
        ...(input.status !== undefined ? { status: input.status } : {}),
        ...(input.container_type !== undefined ? { container_type: input.container_type } : {}),
        source_data_identifier: input.source_data_identifier ?? null,
        owner_id: input.owner_id ?? null,
        tags: JSON.stringify(input.tags ?? []) as unknown as string[],
        custom_fields: JSON.stringify(input.custom_fields ?? {}) as unknown as Record<string, unknown>,
        data: JSON.stringify(input.data ?? {}) as unknown as Record<string, unknown>,
        start_time: input.start_time ?? null,
        end_time: input.end_time ?? null,
        due_time: input.due_time ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const artifacts: ArtifactResult[] = [];
    for (const a of input.artifacts ?? []) artifacts.push(await addArtifact(tx, inserted.id, a));
    return { created: true as const, id: inserted.id, artifacts };
  });
}

/** Adds one artifact to a container, deduplicated by its source_data_identifier within the container. */
export async function addArtifact(db: Db, containerId: number, a: NewArtifact): Promise<ArtifactResult> {
  if (a.source_data_identifier) {
    const existing = await db
      .selectFrom('artifacts')
      .select('id')
      .where('container_id', '=', containerId)
      .where('source_data_identifier', '=', a.source_data_identifier)
      .executeTakeFirst();
    if (existing) return { existing_artifact_id: existing.id };
  }
  const row = await db
    .insertInto('artifacts')
    .values({
      container_id: containerId,
      name: a.name ?? '',
      label: a.label ?? 'event',
      type: a.type ?? '',
      ...(a.severity !== undefined ? { severity: a.severity } : {}),
      source_data_identifier: a.source_data_identifier ?? null,
      cef: JSON.stringify(a.cef ?? {}) as unknown as Record<string, unknown>,
      cef_types: JSON.stringify(a.cef_types ?? {}) as unknown as Record<string, string[]>,
      data: JSON.stringify(a.data ?? {}) as unknown as Record<string, unknown>,
      tags: JSON.stringify(a.tags ?? []) as unknown as string[],
      start_time: a.start_time ?? null,
      end_time: a.end_time ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id };
}
