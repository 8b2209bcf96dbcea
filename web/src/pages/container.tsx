import { useEffect, useState, type FormEvent } from 'react';
import { get } from '../api/client.ts';
import {
  addNote,
  appRunsPath,
  containerActionsPath,
  containerArtifactsPath,
  containerNotesPath,
  containerPromptsPath,
  containerRunsPath,
  restPath,
  runPlaybook,
  updateContainer,
} from '../api/endpoints.ts';
import type {
  ActionRun,
  AppRun,
  Artifact,
  Container,
  ListEnvelope,
  Note,
  Playbook,
  PlaybookRun,
  Prompt,
} from '../api/types.ts';
import { fmtAgo, fmtTime } from '../components/format.ts';
import { RunActionDialog } from '../components/action-dialog.tsx';
import { PromptForm } from '../components/prompt-form.tsx';
import {
  ActionError,
  Badge,
  Card,
  DataTable,
  ErrorState,
  Field,
  Loading,
  PageHeader,
} from '../components/ui.tsx';
import { useApi, useLive, useLiveReload } from '../lib/hooks.ts';
import { Link } from '../lib/router.tsx';
import { useSession } from '../lib/session.tsx';

/** One container: what was found (artifacts), what was done (runs, actions), what people said (notes), what waits (prompts). */
export function ContainerPage(props: { id: number }) {
  const { id } = props;
  const session = useSession();
  const c = useApi<Container>(`/rest/container/${id}`);
  const artifacts = useApi<ListEnvelope<Artifact>>(containerArtifactsPath(id));
  const notes = useApi<ListEnvelope<Note>>(containerNotesPath(id));
  const runs = useApi<ListEnvelope<PlaybookRun>>(containerRunsPath(id));
  const actions = useApi<ListEnvelope<ActionRun>>(containerActionsPath(id));
  const prompts = useApi<ListEnvelope<Prompt>>(containerPromptsPath(id));
  const [runningAction, setRunningAction] = useState(false);
  const [changeError, setChangeError] = useState<unknown>();
  const severities = useApi<ListEnvelope<{ name: string }>>(restPath('severity', { pageSize: 0 }));
  const statuses = useApi<ListEnvelope<{ name: string }>>(restPath('container_status', { pageSize: 0 }));
  const users = useApi<ListEnvelope<{ id: number; username: string; is_active?: boolean }>>(
    restPath('ph_user', { pageSize: 0 }),
  );
  const mine = (m: { data: Record<string, unknown> }) =>
    Number(m.data.container_id ?? m.data.container) === id;
  useLive(['container_updated'], (m) => mine(m) && c.reload());
  useLive(['artifact_added'], (m) => mine(m) && artifacts.reload());
  useLive(['note_added'], (m) => mine(m) && notes.reload());
  useLiveReload(['playbook_run_updated', 'prompt_created', 'prompt_answered'], () => {
    runs.reload();
    prompts.reload();
  });
  useLiveReload(['action_run_updated'], actions.reload);

  // Runs advance in the background; while one is working (not waiting for a person), look again
  // every few seconds in case the server publishes no live event for a step.
  const activeRuns = (runs.data?.data ?? []).some((r) =>
    ['pending', 'running'].includes(r.state ?? r.status),
  );
  useEffect(() => {
    if (!activeRuns) return;
    const timer = setInterval(() => {
      runs.reload();
      prompts.reload();
      actions.reload();
    }, 3000);
    return () => clearInterval(timer);
  }, [activeRuns, runs.reload, prompts.reload, actions.reload]);

  if (c.error) return <ErrorState error={c.error} what={`Container ${id}`} />;
  if (!c.data) return <Loading />;
  const ct = c.data;
  const pending = prompts.data?.data.filter((p) => p.status === 'pending') ?? [];
  const answered = prompts.data?.data.filter((p) => p.status !== 'pending') ?? [];

  const change = async (changes: { status?: string; severity?: string; owner_id?: number | null }) => {
    setChangeError(undefined);
    try {
      await updateContainer(id, changes);
      c.reload();
    } catch (err) {
      setChangeError(err);
    }
  };

  return (
    <>
      <PageHeader
        title={ct.name}
        subtitle={
          <>
            <Badge value={ct.severity} /> <Badge value={ct.status} /> <span className="tag">{ct.label}</span>{' '}
            · container {ct.id} · created {fmtTime(ct.create_time)}
            {ct.owner_name ? ` · owner ${ct.owner_name}` : ''}
          </>
        }
        actions={
          session.canWork ? (
            <>
              <label className="inline-label">
                Severity{' '}
                <select value={ct.severity} onChange={(e) => void change({ severity: e.target.value })}>
                  {(severities.data?.data.map((x) => x.name) ?? ['high', 'medium', 'low']).map((v) => (
                    <option key={v}>{v}</option>
                  ))}
                </select>
              </label>
              <label className="inline-label">
                Status{' '}
                <select value={ct.status} onChange={(e) => void change({ status: e.target.value })}>
                  {(statuses.data?.data.map((x) => x.name) ?? ['new', 'open', 'closed']).map((v) => (
                    <option key={v}>{v}</option>
                  ))}
                </select>
              </label>
              <label className="inline-label">
                Owner{' '}
                <select
                  value={ct.owner_id ?? ''}
                  onChange={(e) => void change({ owner_id: e.target.value ? Number(e.target.value) : null })}
                >
                  <option value="">nobody</option>
                  {(users.data?.data ?? [])
                    .filter((u) => u.is_active !== false)
                    .map((u) => (
                      <option key={u.id} value={u.id}>
                        {u.username}
                      </option>
                    ))}
                </select>
              </label>
              {ct.status !== 'closed' ? (
                <button type="button" onClick={() => void change({ status: 'closed' })}>
                  Close container
                </button>
              ) : null}
              <ActionError error={changeError} />
            </>
          ) : null
        }
      />
      {ct.description ? <p>{ct.description}</p> : null}
      <div className="stack">
        {prompts.error ? (
          <ErrorState error={prompts.error} what="Prompts" />
        ) : pending.length > 0 ? (
          <section aria-label="Pending prompts">
            <h2 style={{ marginBottom: 8 }}>Waiting for your decision</h2>
            {pending.map((p) => (
              <PromptForm
                key={p.id}
                prompt={p}
                onAnswered={() => {
                  prompts.reload();
                  runs.reload();
                  c.reload();
                }}
              />
            ))}
          </section>
        ) : null}

        <Card title="Artifacts">
          {artifacts.error ? (
            <ErrorState error={artifacts.error} what="Artifacts" />
          ) : !artifacts.data ? (
            <Loading />
          ) : artifacts.data.data.length === 0 ? (
            <p className="muted">No artifacts.</p>
          ) : (
            <DataTable
              label="Artifacts"
              rows={artifacts.data.data}
              rowKey={(a) => String(a.id)}
              columns={[
                {
                  key: 'name',
                  label: 'Name',
                  render: (a) => (
                    <>
                      {a.name} <span className="tag">{a.label}</span>
                    </>
                  ),
                },
                { key: 'cef', label: 'CEF fields', render: (a) => <CefFields artifact={a} /> },
                { key: 'time', label: 'Added', render: (a) => fmtAgo(a.create_time) },
              ]}
            />
          )}
        </Card>

        <div className="grid two">
          <Card
            title="Playbook runs"
            actions={session.canWork ? <RunPlaybook containerId={id} onStarted={runs.reload} /> : null}
          >
            {runs.error ? (
              <ErrorState error={runs.error} what="Playbook runs" />
            ) : !runs.data ? (
              <Loading />
            ) : runs.data.data.length === 0 ? (
              <p className="muted">No playbook has run on this container.</p>
            ) : (
              runs.data.data.map((r) => <RunLog key={r.id} run={r} />)
            )}
          </Card>
          <Card
            title="Action results"
            actions={
              session.canWork ? (
                <button type="button" onClick={() => setRunningAction(true)}>
                  Run an action…
                </button>
              ) : null
            }
          >
            {actions.error ? (
              <ErrorState error={actions.error} what="Actions" />
            ) : !actions.data ? (
              <Loading />
            ) : actions.data.data.length === 0 ? (
              <p className="muted">No actions yet.</p>
            ) : (
              <ul className="plain-list">
                {actions.data.data.map((a) => (
                  <ActionResult key={a.id} action={a} />
                ))}
              </ul>
            )}
          </Card>
        </div>

        <Card title="Notes">
          {notes.error ? (
            <ErrorState error={notes.error} what="Notes" />
          ) : !notes.data ? (
            <Loading />
          ) : (
            <>
              {notes.data.data.length === 0 ? <p className="muted">No notes yet.</p> : null}
              <ul className="plain-list">
                {notes.data.data.map((n) => (
                  <li key={n.id}>
                    {n.title ? <strong>{n.title} </strong> : null}
                    <span className="muted small">
                      {n.author_name ?? ''} {fmtAgo(n.create_time)}
                    </span>
                    <div style={{ whiteSpace: 'pre-wrap' }}>{n.content}</div>
                  </li>
                ))}
              </ul>
              {session.canWork ? <NoteForm containerId={id} onAdded={notes.reload} /> : null}
            </>
          )}
        </Card>
        {answered.length > 0 ? (
          <Card title="Answered prompts">
            <ul className="plain-list">
              {answered.map((p) => (
                <li key={p.id}>
                  <Badge value={p.status} /> {p.message || p.name}: <strong>{p.responses.join(' · ')}</strong>{' '}
                  <span className="muted small">
                    {p.answered_by ? `by ${p.answered_by} ` : ''}
                    {fmtAgo(p.close_time)}
                  </span>
                </li>
              ))}
            </ul>
          </Card>
        ) : null}
      </div>
      {runningAction ? (
        <RunActionDialog
          containerId={id}
          artifacts={artifacts.data?.data ?? []}
          onClose={() => setRunningAction(false)}
          onStarted={() => {
            setRunningAction(false);
            actions.reload();
          }}
        />
      ) : null}
    </>
  );
}

function CefFields(props: { artifact: Artifact }) {
  const a = props.artifact;
  const host = a.cef.destinationAddress;
  return (
    <dl className="kv">
      {Object.entries(a.cef).map(([k, v]) => (
        <div key={k} style={{ display: 'contents' }}>
          <dt>{k}</dt>
          <dd className="mono">
            {k === 'destinationAddress' && typeof host === 'string' ? (
              <Link href={`/hosts/${encodeURIComponent(host)}`}>{host}</Link>
            ) : typeof v === 'object' ? (
              JSON.stringify(v)
            ) : (
              String(v)
            )}
          </dd>
        </div>
      ))}
    </dl>
  );
}

function RunLog(props: { run: PlaybookRun }) {
  const r = props.run;
  const state = r.state ?? r.status;
  const active = state === 'pending' || state === 'running' || state === 'waiting';
  const [open, setOpen] = useState(active);
  // The list view has the run's messages; its steps come with the run itself.
  const detail = useApi<PlaybookRun>(
    open ? `/rest/playbook_run/${r.id}?v=${encodeURIComponent(r.update_time ?? '')}` : null,
  );
  const d = detail.data ?? r;
  const lines: Array<{ at?: string; text: string }> = [
    ...(d.steps ?? []).map((s) => ({
      at: s.finished_at ?? s.started_at,
      text: `${s.seq !== undefined ? `#${s.seq} ` : ''}${s.step ?? 'step'}${s.name ? ` ${s.name}` : ''}: ${s.status}${s.message ? ` — ${s.message}` : ''}`,
    })),
    ...(d.log ?? []).map((l) => ({ at: l.time ?? l.at, text: `${l.step ? `${l.step}: ` : ''}${l.message}` })),
    ...(d.messages ?? []).map((m) => (typeof m === 'string' ? { text: m } : { at: m.time, text: m.message })),
  ];
  return (
    <details
      open={open}
      onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}
      style={{ marginBottom: 8 }}
    >
      <summary>
        <Badge value={state} /> {r.playbook_name ?? `playbook ${r.playbook_id ?? r.playbook}`} · run {r.id} ·{' '}
        <span className="muted small">{fmtAgo(r.start_time ?? r.update_time)}</span>
      </summary>
      {r.message ? <p className="small">{r.message}</p> : null}
      {lines.length ? (
        <ol className="log" aria-label={`Log of run ${r.id}`}>
          {lines.map((l, i) => (
            <li key={i}>
              {l.at ? <span className="muted">{new Date(l.at).toLocaleTimeString()} </span> : null}
              {l.text}
            </li>
          ))}
        </ol>
      ) : (
        <p className="muted small">No steps logged yet.</p>
      )}
    </details>
  );
}

function ActionResult(props: { action: ActionRun }) {
  const a = props.action;
  const [open, setOpen] = useState(false);
  const results = useApi<ListEnvelope<AppRun>>(open ? appRunsPath(a.id) : null);
  return (
    <li>
      <details onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}>
        <summary>
          <Badge value={a.status} /> <strong>{a.action}</strong>{' '}
          {a.name ? <span className="muted">({a.name})</span> : null}{' '}
          <span className="muted small">{fmtAgo(a.update_time ?? a.create_time)}</span>
          {a.message ? <div className="small">{a.message}</div> : null}
        </summary>
        {results.error ? (
          <ErrorState error={results.error} what="Action results" />
        ) : !results.data ? (
          open ? (
            <Loading />
          ) : null
        ) : (
          results.data.data.map((r) => (
            <div key={r.id}>
              <p className="small">
                <Badge value={r.status} /> {r.app_name ?? r.app ?? 'app'} {r.asset ? `on ${r.asset}` : ''}:{' '}
                {r.message}
              </p>
              {r.result_data?.length ? (
                <pre className="json">{JSON.stringify(r.result_data, null, 2)}</pre>
              ) : null}
            </div>
          ))
        )}
      </details>
    </li>
  );
}

function NoteForm(props: { containerId: number; onAdded: () => void }) {
  const [title, setTitle] = useState('');
  const [content, setContent] = useState('');
  const [error, setError] = useState<unknown>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await addNote(props.containerId, title, content);
      setTitle('');
      setContent('');
      props.onAdded();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form onSubmit={submit} aria-label="Add a note" style={{ marginTop: 12 }}>
      <Field label="Note title">
        <input value={title} onChange={(e) => setTitle(e.target.value)} />
      </Field>
      <Field label="Note">
        <textarea required value={content} onChange={(e) => setContent(e.target.value)} />
      </Field>
      <ActionError error={error} />
      <button type="submit" disabled={!content.trim()}>
        Add note
      </button>
    </form>
  );
}

function RunPlaybook(props: { containerId: number; onStarted: () => void }) {
  const [playbooks, setPlaybooks] = useState<Playbook[] | null>(null);
  const [choice, setChoice] = useState('');
  const [error, setError] = useState<unknown>();
  const load = async () => {
    try {
      const r = await get<ListEnvelope<Playbook>>(restPath('playbook', { pageSize: 0 }));
      setPlaybooks(r.data);
      setChoice(String(r.data[0]?.id ?? ''));
    } catch (e) {
      setError(e);
    }
  };
  if (!playbooks)
    return (
      <>
        <button type="button" onClick={() => void load()}>
          Run a playbook…
        </button>
        <ActionError error={error} />
      </>
    );
  if (playbooks.length === 0) return <span className="muted small">No playbooks</span>;
  return (
    <form
      className="inline-form"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await runPlaybook(props.containerId, Number(choice));
          props.onStarted();
        } catch (err) {
          setError(err);
        }
      }}
    >
      <label>
        <span className="visually-hidden">Playbook</span>
        <select value={choice} onChange={(e) => setChoice(e.target.value)} aria-label="Playbook">
          {playbooks.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">Run</button>
      <ActionError error={error} />
    </form>
  );
}
