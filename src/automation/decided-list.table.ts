import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/** A list cell: Splunk SOAR's custom lists hold simple values only. */
export type ListCell = string | number | boolean | null;

/** A custom list (Splunk SOAR's `decided_list`): a named two-dimensional array. */
export interface DecidedListTable {
  id: Generated<number>;
  name: string;
  content: JSONColumnType<ListCell[][], string | undefined, string>;
  create_time: Timestamp;
  update_time: Timestamp;
}

export interface DecidedListTables {
  decided_lists: DecidedListTable;
}
