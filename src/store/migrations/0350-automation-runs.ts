import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('assets')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('app_id', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('configuration', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('secrets', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('tags', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('create_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('update_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('playbooks')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('scm', 'text', (c) => c.notNull().defaultTo('local'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('labels', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('tags', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('create_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('update_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('playbooks_scm_name_uniq', ['scm', 'name'])
    .execute();

  await db.schema
    .createTable('playbook_runs')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('playbook_id', 'bigint', (c) => c.notNull().references('playbooks.id'))
    .addColumn('playbook_version', 'integer', (c) => c.notNull())
    .addColumn('container_id', 'bigint', (c) => c.references('containers.id').onDelete('cascade'))
    .addColumn('scope', 'jsonb', (c) => c.notNull().defaultTo(sql`'"new"'::jsonb`))
    .addColumn('trigger', 'text', (c) => c.notNull().defaultTo('manual'))
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('pending')
        .check(sql`status in ('pending','running','waiting','success','failed','cancelled')`),
    )
    .addColumn('message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('messages', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('effective_user_id', 'bigint')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('cancel_requested', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('time_limit_ms', 'bigint', (c) => c.notNull())
    .addColumn('deadline', 'timestamptz', (c) => c.notNull())
    .addColumn('suspended_at', 'timestamptz')
    .addColumn('create_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('start_time', 'timestamptz')
    .addColumn('update_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('end_time', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('playbook_runs_container_idx')
    .on('playbook_runs')
    .column('container_id')
    .execute();
  await db.schema.createIndex('playbook_runs_status_idx').on('playbook_runs').column('status').execute();

  // The journal of a run: one row per completed SDK step, replayed after a restart.
  await db.schema
    .createTable('playbook_run_steps')
    .addColumn('run_id', 'bigint', (c) => c.notNull().references('playbook_runs.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('result', 'jsonb')
    .addColumn('create_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('playbook_run_steps_pk', ['run_id', 'seq'])
    .execute();

  await db.schema
    .createTable('action_runs')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull().defaultTo('generic'))
    .addColumn('container_id', 'bigint', (c) => c.references('containers.id').onDelete('cascade'))
    .addColumn('playbook_run_id', 'bigint', (c) => c.references('playbook_runs.id').onDelete('cascade'))
    .addColumn('step_seq', 'integer')
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('pending')
        .check(sql`status in ('pending','running','success','failed','cancelled')`),
    )
    .addColumn('message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('targets', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('timeout_ms', 'bigint', (c) => c.notNull())
    .addColumn('max_attempts', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('cancel_requested', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_by', 'bigint')
    .addColumn('create_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('start_time', 'timestamptz')
    .addColumn('close_time', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('action_runs_playbook_run_idx')
    .on('action_runs')
    .columns(['playbook_run_id', 'step_seq'])
    .execute();
  await db.schema.createIndex('action_runs_container_idx').on('action_runs').column('container_id').execute();

  await db.schema
    .createTable('app_runs')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('action_run_id', 'bigint', (c) => c.notNull().references('action_runs.id').onDelete('cascade'))
    .addColumn('app_id', 'text', (c) => c.notNull())
    .addColumn('app_name', 'text', (c) => c.notNull())
    .addColumn('asset_id', 'bigint')
    .addColumn('asset_name', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('parameter', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('summary', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('data', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('data_vault_id', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('create_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('end_time', 'timestamptz')
    .execute();
  await db.schema.createIndex('app_runs_action_run_idx').on('app_runs').column('action_run_id').execute();

  // Work to do, claimed with FOR UPDATE SKIP LOCKED under a lease, so several nodes can share it.
  await db.schema
    .createTable('automation_jobs')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('playbook_run','action_run')`))
    .addColumn('ref_id', 'bigint', (c) => c.notNull())
    .addColumn('run_after', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('locked_by', 'text')
    .addColumn('locked_until', 'timestamptz')
    .addColumn('create_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('automation_jobs_kind_ref_uniq', ['kind', 'ref_id'])
    .execute();
  await db.schema
    .createIndex('automation_jobs_due_idx')
    .on('automation_jobs')
    .columns(['run_after', 'id'])
    .execute();

  await db.schema
    .createTable('prompts')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('playbook_run_id', 'bigint', (c) => c.references('playbook_runs.id').onDelete('cascade'))
    .addColumn('step_seq', 'integer')
    .addColumn('container_id', 'bigint', (c) => c.references('containers.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('questions', 'jsonb', (c) => c.notNull())
    .addColumn('to_user', 'text')
    .addColumn('to_role', 'text')
    .addColumn('default_responses', 'jsonb', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('pending')
        .check(sql`status in ('pending','answered','expired','cancelled')`),
    )
    .addColumn('responses', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('answered_by', 'text')
    .addColumn('due_time', 'timestamptz', (c) => c.notNull())
    .addColumn('start_time', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('close_time', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('prompts_status_due_idx')
    .on('prompts')
    .columns(['status', 'due_time'])
    .execute();
  await db.schema
    .createIndex('prompts_run_step_uniq')
    .on('prompts')
    .columns(['playbook_run_id', 'step_seq'])
    .unique()
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'prompts',
    'automation_jobs',
    'app_runs',
    'action_runs',
    'playbook_run_steps',
    'playbook_runs',
    'playbooks',
    'assets',
  ])
    await db.schema.dropTable(t).execute();
}
