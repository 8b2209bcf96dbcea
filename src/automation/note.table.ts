import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/** A note on a container (Splunk SOAR's `/rest/note`). */
export interface NoteTable {
  id: Generated<number>;
  container_id: number;
  artifact_id: number | null;
  title: Generated<string>;
  content: Generated<string>;
  note_type: Generated<string>;
  note_format: Generated<string>;
  author_id: number | null;
  author: Generated<string>;
  create_time: Timestamp;
  modified_time: Timestamp;
}

export interface NoteTables {
  notes: NoteTable;
}
