import { sql, type Kysely, type Selectable } from 'kysely';
import { recordAudit } from '../audit/audit.repository.ts';
import type { Principal } from '../identity/index.ts';
import type { Database } from '../store/index.ts';
import { AppError, badRequest, conflict, forbidden, notFound } from '../util/errors.ts';
import { parseListQuery, runList, type ListEnvelope, type ListSpec } from './rest-list.ts';
import type { PromptTable } from './run.table.ts';

/** One question of a prompt, in the shape of Splunk SOAR's `response_types`. */
export type PromptQuestion =
  | { prompt: string; options: { type: 'list'; choices: string[] } }
  | { prompt: string; options: { type: 'message'; required?: boolean } };

/** Checks a prompt's questions and defaults before it is stored. */
export function validatePromptSpec(questions: PromptQuestion[], defaults: string[]): void {
  if (!Array.isArray(questions) || questions.length === 0)
    throw new AppError('bad_prompt', 'a prompt needs at least one question', { kind: 'bug' });
  if (defaults.length !== questions.length)
    throw new AppError(
      'bad_prompt',
      `a prompt needs one default response per question (${questions.length}), got ${defaults.length}`,
      { kind: 'bug' },
    );
  questions.forEach((q, i) => {
    if (q.options.type === 'list' && !q.options.choices.includes(defaults[i]!))
      throw new AppError(
        'bad_prompt',
        `default response ${i} "${defaults[i]}" is not one of ${q.options.choices.join(', ')}`,
        { kind: 'bug' },
      );
  });
}

type PromptRow = Selectable<PromptTable>;

/** A prompt as `/rest/approval` shows it (Splunk SOAR's approval fields plus the questions). */
export interface ApprovalView {
  id: number;
  name: string;
  status: string;
  message: string;
  type: 'prompt';
  playbook_run: number | null;
  container: number | null;
  owner: string | null;
  owner_type: 'User' | 'Role' | 'Any';
  questions: PromptQuestion[];
  default_responses: string[];
  responses: string[];
  answered_by: string | null;
  start_time: string;
  due_time: string;
  close_time: string | null;
}

export function toApprovalView(r: PromptRow): ApprovalView {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    message: r.message,
    type: 'prompt',
    playbook_run: r.playbook_run_id,
    container: r.container_id,
    owner: r.to_user ?? r.to_role,
    owner_type: r.to_user ? 'User' : r.to_role ? 'Role' : 'Any',
    questions: r.questions as PromptQuestion[],
    default_responses: r.default_responses,
    responses: r.responses,
    answered_by: r.answered_by,
    start_time: r.start_time.toISOString(),
    due_time: r.due_time.toISOString(),
    close_time: r.close_time ? r.close_time.toISOString() : null,
  };
}

export const APPROVAL_LIST: ListSpec = {
  type: 'approval',
  fields: {
    id: { column: 'id', kind: 'int' },
    name: { column: 'name', kind: 'text' },
    status: { column: 'status', kind: 'text' },
    playbook_run: { column: 'playbook_run_id', kind: 'int' },
    container: { column: 'container_id', kind: 'int' },
    to_user: { column: 'to_user', kind: 'text' },
    to_role: { column: 'to_role', kind: 'text' },
    start_time: { column: 'start_time', kind: 'time' },
    due_time: { column: 'due_time', kind: 'time' },
  },
  defaultSort: 'id',
};

export async function listApprovals(
  db: Kysely<Database>,
  query: Record<string, unknown>,
): Promise<ListEnvelope<ApprovalView>> {
  const q = parseListQuery(query, APPROVAL_LIST);
  return runList(q, APPROVAL_LIST, {
    count: async (where) =>
      Number(
        (
          await db
            .selectFrom('prompts')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where(where)
            .executeTakeFirstOrThrow()
        ).n,
      ),
    fetch: (where, order, limit, offset) => {
      let qb = db.selectFrom('prompts').selectAll().where(where).orderBy(order).offset(offset);
      if (limit !== null) qb = qb.limit(limit);
      return qb.execute();
    },
    map: toApprovalView,
  });
}

export async function getApproval(db: Kysely<Database>, id: number): Promise<ApprovalView> {
  const r = await db.selectFrom('prompts').selectAll().where('id', '=', id).executeTakeFirst();
  if (!r) throw notFound(`approval ${id}`);
  return toApprovalView(r);
}

/** Checks responses against a prompt's questions; returns them trimmed. Throws naming the response. */
export function checkResponses(questions: PromptQuestion[], responses: unknown): string[] {
  if (!Array.isArray(responses))
    throw badRequest('/responses: must be an array with one response per question');
  if (responses.length > questions.length)
    throw badRequest(
      `/responses: this prompt has ${questions.length} question(s), got ${responses.length} responses`,
    );
  return questions.map((q, i) => {
    const raw = responses[i];
    const v = raw === undefined || raw === null ? '' : String(raw).trim();
    if (q.options.type === 'list') {
      const match = q.options.choices.find((c) => c.toLowerCase() === v.toLowerCase());
      if (!match)
        throw badRequest(`/responses/${i}: "${q.prompt}" must be one of ${q.options.choices.join(', ')}`);
      return match;
    }
    if (q.options.required && !v) throw badRequest(`/responses/${i}: "${q.prompt}" needs an answer`);
    if (v.length > 10_000) throw badRequest(`/responses/${i}: longer than 10000 characters`);
    return v;
  });
}

/**
 * Answers a pending prompt and wakes its run. Only the addressed user, a user of the addressed
 * role, or an admin may answer; a prompt answers once.
 */
export async function answerPrompt(
  db: Kysely<Database>,
  id: number,
  responses: unknown,
  who: Principal,
): Promise<ApprovalView> {
  const p = await db.selectFrom('prompts').selectAll().where('id', '=', id).executeTakeFirst();
  if (!p) throw notFound(`approval ${id}`);
  if (p.status !== 'pending') throw conflict(`approval ${id} is already ${p.status}`);
  const allowed =
    who.role === 'admin' ||
    (p.to_user ? p.to_user === who.username : p.to_role ? p.to_role === who.role : who.role !== 'observer');
  if (!allowed)
    throw forbidden(
      `approval ${id} is addressed to ${p.to_user ? `user ${p.to_user}` : `role ${p.to_role}`}`,
    );
  const answer = checkResponses(p.questions as PromptQuestion[], responses);
  const row = await db.transaction().execute(async (tx) => {
    const row = await tx
      .updateTable('prompts')
      .set({
        status: 'answered',
        responses: JSON.stringify(answer) as never,
        answered_by: who.username,
        close_time: new Date(),
      })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .returningAll()
      .executeTakeFirst();
    if (!row) throw conflict(`approval ${id} was answered or expired meanwhile`);
    if (row.playbook_run_id !== null) await enqueueJob(tx, 'playbook_run', row.playbook_run_id);
    await recordAudit(tx, {
      category: 'container',
      action: 'prompt_answer',
      actor: who.username,
      object_type: 'approval',
      object_id: id,
      container_id: row.container_id,
      details: { responses: answer },
    });
    return row;
  });
  return toApprovalView(row);
}

/** Queues (or re-queues now) a job; idempotent per (kind, id). */
export async function enqueueJob(
  db: Kysely<Database>,
  kind: 'playbook_run' | 'action_run',
  refId: number,
): Promise<void> {
  await sql`insert into automation_jobs (kind, ref_id) values (${kind}, ${refId})
    on conflict (kind, ref_id) do update set run_after = now()`.execute(db);
}

/** Expires pending prompts past their due time (their defaults become the answer) and wakes their runs. */
export async function expirePrompts(db: Kysely<Database>): Promise<number> {
  const r = await sql<{ n: number }>`with e as (
      update prompts set status = 'expired', responses = default_responses, close_time = now()
      where status = 'pending' and due_time <= now() returning playbook_run_id),
    q as (insert into automation_jobs (kind, ref_id) select distinct 'playbook_run', playbook_run_id from e where playbook_run_id is not null
      on conflict (kind, ref_id) do update set run_after = now() returning 1)
    select (select count(*) from e)::int as n`.execute(db);
  return r.rows[0]?.n ?? 0;
}
