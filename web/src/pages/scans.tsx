import { useEffect, useState, type FormEvent } from 'react';
import { del, get, patch, post } from '../api/client.ts';
import type { ListEnvelope, Scan, ScanSchedule, Scope } from '../api/types.ts';
import { fmtAgo, fmtTime } from '../components/format.ts';
import {
  ActionError,
  Badge,
  Card,
  DataTable,
  EmptyState,
  ErrorState,
  Field,
  Loading,
  PageHeader,
} from '../components/ui.tsx';
import { useApi, useLive, useLiveReload } from '../lib/hooks.ts';
import { Link } from '../lib/router.tsx';
import { useSession } from '../lib/session.tsx';

const ACTIVE = new Set(['queued', 'pending', 'running', 'cancelling']);
const splitTargets = (t: string) => t.split(/[\s,]+/).filter(Boolean);

/** Scopes (where scanning is allowed), scans with live progress, and schedules. */
export function ScansPage() {
  const session = useSession();
  const scopes = useApi<ListEnvelope<Scope>>('/api/scopes');
  const scans = useApi<ListEnvelope<Scan>>('/api/scans?limit=25');
  const schedules = useApi<ListEnvelope<ScanSchedule>>('/api/scans/schedules');
  const [live, setLive] = useState<Record<number, Partial<Scan>>>({});
  useLiveReload(['scan_finished'], scans.reload);
  useLive(['scan_progress'], (m) => {
    const id = Number(m.data.scan_id ?? m.data.id);
    if (!id) return;
    setLive((old) => ({
      ...old,
      [id]: {
        ...old[id],
        ...(m.data.done !== undefined ? { done: Number(m.data.done) } : {}),
        ...(m.data.total !== undefined ? { total: Number(m.data.total) } : {}),
        ...(m.data.open !== undefined ? { open: Number(m.data.open) } : {}),
        ...(typeof m.data.status === 'string' ? { status: m.data.status } : {}),
      },
    }));
  });
  // Running scans: follow their progress (also without live events), then reload when they end.
  const running = (scans.data?.data ?? [])
    .filter((s) => ACTIVE.has(live[s.id]?.status ?? s.status))
    .map((s) => s.id);
  const runningKey = running.join(',');
  useEffect(() => {
    if (!runningKey) return;
    const ids = runningKey.split(',').map(Number);
    const timer = setInterval(() => {
      for (const id of ids)
        get<Scan>(`/api/scans/${id}`).then(
          (s) => {
            setLive((old) => ({
              ...old,
              [id]: {
                status: s.status,
                done: s.progress?.done ?? s.done,
                total: s.progress?.total ?? s.total,
                open: s.open,
              },
            }));
            if (!ACTIVE.has(s.status)) scans.reload();
          },
          () => {},
        );
    }, 1000);
    return () => clearInterval(timer);
  }, [runningKey, scans.reload]);

  const allowRules = (scopes.data?.data ?? []).filter((s) => s.kind !== 'exclude');
  const noScope = scopes.data !== undefined && allowRules.length === 0;

  return (
    <>
      <PageHeader
        title="Scans"
        subtitle="The built-in TCP connect scanner keeps the baseline fresh. It scans only inside the scopes below."
      />
      <div className="grid two">
        <Card title="Scopes">
          {scopes.error ? (
            <ErrorState error={scopes.error} what="Scopes" />
          ) : !scopes.data ? (
            <Loading />
          ) : (
            <>
              {noScope ? (
                <EmptyState title="No scope yet: nothing can be scanned.">
                  Add the networks you are responsible for (e.g. <code>10.20.0.0/16</code>). A target outside
                  every scope is refused before any packet leaves.
                </EmptyState>
              ) : null}
              {scopes.data.data.length > 0 ? (
                <ScopeTable scopes={scopes.data.data} canEdit={session.isAdmin} onChanged={scopes.reload} />
              ) : null}
              {session.isAdmin ? <ScopeForm onAdded={scopes.reload} /> : null}
            </>
          )}
        </Card>
        <Card title="Run a scan now">
          {session.canWork ? (
            <ScanForm disabled={noScope} onStarted={scans.reload} />
          ) : (
            <p className="muted">Your role may not start scans.</p>
          )}
        </Card>
      </div>
      <Card title="Recent scans">
        {scans.error ? (
          <ErrorState error={scans.error} what="Scans" />
        ) : !scans.data ? (
          <Loading />
        ) : scans.data.data.length === 0 ? (
          <EmptyState title="No scans yet.">Run one above, or add a schedule below.</EmptyState>
        ) : (
          <DataTable
            label="Scans"
            rows={scans.data.data.map((s) => ({ ...s, ...live[s.id] }))}
            rowKey={(s) => String(s.id)}
            columns={[
              { key: 'id', label: 'Scan', className: 'num', render: (s) => s.id },
              { key: 'targets', label: 'Targets', render: (s) => <code>{s.targets.join(', ')}</code> },
              { key: 'ports', label: 'Ports', render: (s) => <code>{s.ports}</code> },
              { key: 'status', label: 'Status', render: (s) => <Badge value={s.status} /> },
              {
                key: 'progress',
                label: 'Progress',
                render: (s) =>
                  s.total ? (
                    <span className="nowrap">
                      <progress max={s.total} value={s.done} aria-label={`Scan ${s.id} progress`} />{' '}
                      {s.done.toLocaleString()}/{s.total.toLocaleString()}
                    </span>
                  ) : (
                    '—'
                  ),
              },
              {
                key: 'open',
                label: 'Open',
                className: 'num',
                render: (s) =>
                  s.open && !ACTIVE.has(s.status) ? (
                    <Link href={`/inventory?source=scan&sort=last_seen&order=desc`}>{s.open}</Link>
                  ) : (
                    s.open
                  ),
              },
              {
                key: 'started',
                label: 'Started',
                render: (s) => <span title={fmtTime(s.started_at)}>{fmtAgo(s.started_at)}</span>,
              },
              {
                key: 'by',
                label: 'By',
                render: (s) => (s.schedule_id ? `schedule ${s.schedule_id}` : (s.requested_by ?? '')),
              },
              {
                key: 'msg',
                label: '',
                render: (s) =>
                  s.error ? (
                    <span className="small">{s.error}</span>
                  ) : ACTIVE.has(s.status) && session.canWork ? (
                    <button
                      type="button"
                      className="danger"
                      onClick={() => void post(`/api/scans/${s.id}/cancel`).then(scans.reload)}
                    >
                      Cancel
                    </button>
                  ) : null,
              },
            ]}
          />
        )}
      </Card>
      <div style={{ height: 16 }} />
      <Card title="Schedules">
        {schedules.error ? (
          <ErrorState error={schedules.error} what="Scan schedules" />
        ) : !schedules.data ? (
          <Loading />
        ) : (
          <>
            {schedules.data.data.length === 0 ? (
              <p className="muted">
                No scheduled scans. A schedule is a cron expression (e.g. <code>0 2 * * *</code>, nightly at
                02:00).
              </p>
            ) : (
              <ScheduleTable
                schedules={schedules.data.data}
                canEdit={session.canWork}
                onChanged={() => {
                  schedules.reload();
                  scans.reload();
                }}
              />
            )}
            {session.canWork ? <ScheduleForm onAdded={schedules.reload} /> : null}
          </>
        )}
      </Card>
    </>
  );
}

function ScopeTable(props: { scopes: Scope[]; canEdit: boolean; onChanged: () => void }) {
  const [error, setError] = useState<unknown>();
  return (
    <>
      <ActionError error={error} />
      <DataTable
        label="Scopes"
        rows={props.scopes}
        rowKey={(s) => String(s.id)}
        columns={[
          { key: 'cidr', label: 'CIDR', render: (s) => <code>{s.cidr}</code> },
          {
            key: 'kind',
            label: 'Kind',
            render: (s) => <Badge value={s.kind === 'exclude' ? 'cancelled' : 'success'} label={s.kind} />,
          },
          { key: 'note', label: 'Note', render: (s) => s.note ?? '' },
          {
            key: 'remove',
            label: '',
            render: (s) =>
              props.canEdit ? (
                <button
                  type="button"
                  className="danger"
                  aria-label={`Remove scope ${s.cidr}`}
                  onClick={() => del(`/api/scopes/${s.id}`).then(props.onChanged, setError)}
                >
                  Remove
                </button>
              ) : null,
          },
        ]}
      />
    </>
  );
}

function ScopeForm(props: { onAdded: () => void }) {
  const [cidr, setCidr] = useState('');
  const [kind, setKind] = useState('allow');
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await post('/api/scopes', { cidr: cidr.trim(), kind, ...(note ? { note } : {}) });
      setCidr('');
      setNote('');
      props.onAdded();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label="Add a scope" style={{ marginTop: 12 }}>
      <Field label="CIDR">
        <input required value={cidr} onChange={(e) => setCidr(e.target.value)} placeholder="198.18.0.0/24" />
      </Field>
      <Field label="Kind">
        <select value={kind} onChange={(e) => setKind(e.target.value)}>
          <option value="allow">allow</option>
          <option value="exclude">exclude</option>
        </select>
      </Field>
      <Field label="Note">
        <input value={note} onChange={(e) => setNote(e.target.value)} placeholder="DMZ" />
      </Field>
      <button type="submit">Add scope</button>
      <ActionError error={error} />
    </form>
  );
}

function ScanForm(props: { disabled: boolean; onStarted: () => void }) {
  const [targets, setTargets] = useState('');
  const [ports, setPorts] = useState('1-1024');
  const [banner, setBanner] = useState(false);
  const [error, setError] = useState<unknown>();
  const [started, setStarted] = useState<string>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setStarted(undefined);
    try {
      const r = await post<Scan>('/api/scans', { targets: splitTargets(targets), ports, banner });
      setStarted(`Scan ${r.id} started: ${r.total.toLocaleString()} probes.`);
      props.onStarted();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form onSubmit={submit} aria-label="Run a scan">
      <Field
        label="Targets"
        hint="Addresses, CIDR blocks, ranges (198.18.0.1-20) or host names, separated by spaces or commas."
      >
        <input
          required
          value={targets}
          onChange={(e) => setTargets(e.target.value)}
          placeholder="198.18.0.0/28"
        />
      </Field>
      <Field label="Ports" hint="nmap syntax: 22,80,1000-2000, or - for all 65535.">
        <input required value={ports} onChange={(e) => setPorts(e.target.value)} />
      </Field>
      <label className="choice">
        <input type="checkbox" checked={banner} onChange={(e) => setBanner(e.target.checked)} /> Grab banners
      </label>
      <div style={{ marginTop: 10 }}>
        <button type="submit" className="primary" disabled={props.disabled}>
          Run now
        </button>
        {props.disabled ? <span className="muted small"> Add a scope first.</span> : null}
      </div>
      <ActionError error={error} />
      {started ? (
        <p className="success" role="status">
          {started} Its progress shows below.
        </p>
      ) : null}
    </form>
  );
}

function ScheduleTable(props: { schedules: ScanSchedule[]; canEdit: boolean; onChanged: () => void }) {
  const [error, setError] = useState<unknown>();
  const act = (p: Promise<unknown>) => p.then(props.onChanged, setError);
  return (
    <>
      <ActionError error={error} />
      <DataTable
        label="Scan schedules"
        rows={props.schedules}
        rowKey={(s) => String(s.id)}
        columns={[
          { key: 'name', label: 'Name', render: (s) => <strong>{s.name}</strong> },
          { key: 'cron', label: 'Cron', render: (s) => <code>{s.cron}</code> },
          { key: 'targets', label: 'Targets', render: (s) => <code>{s.targets.join(', ')}</code> },
          { key: 'ports', label: 'Ports', render: (s) => <code>{s.ports}</code> },
          {
            key: 'next',
            label: 'Next run',
            render: (s) => (s.enabled ? fmtTime(s.next_run_at) : 'disabled'),
          },
          { key: 'last', label: 'Last run', render: (s) => fmtAgo(s.last_run_at) },
          {
            key: 'actions',
            label: '',
            render: (s) =>
              props.canEdit ? (
                <span className="actions">
                  <button
                    type="button"
                    onClick={() => act(post(`/api/scans/schedules/${s.id}/run`))}
                    aria-label={`Run schedule ${s.name} now`}
                  >
                    Run now
                  </button>
                  <button
                    type="button"
                    onClick={() => act(patch(`/api/scans/schedules/${s.id}`, { enabled: !s.enabled }))}
                  >
                    {s.enabled ? 'Disable' : 'Enable'}
                  </button>
                  <button
                    type="button"
                    className="danger"
                    onClick={() => act(del(`/api/scans/schedules/${s.id}`))}
                    aria-label={`Delete schedule ${s.name}`}
                  >
                    Delete
                  </button>
                </span>
              ) : null,
          },
        ]}
      />
    </>
  );
}

function ScheduleForm(props: { onAdded: () => void }) {
  const [cron, setCron] = useState('0 2 * * *');
  const [targets, setTargets] = useState('');
  const [ports, setPorts] = useState('1-1024');
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await post('/api/scans/schedules', { name, cron, targets: splitTargets(targets), ports });
      setTargets('');
      setName('');
      props.onAdded();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label="Add a schedule" style={{ marginTop: 12 }}>
      <Field label="Schedule name">
        <input required value={name} onChange={(e) => setName(e.target.value)} placeholder="nightly-dmz" />
      </Field>
      <Field label="Cron">
        <input required value={cron} onChange={(e) => setCron(e.target.value)} size={12} />
      </Field>
      <Field label="Scan targets">
        <input
          required
          value={targets}
          onChange={(e) => setTargets(e.target.value)}
          placeholder="198.18.0.0/24"
        />
      </Field>
      <Field label="Scan ports">
        <input required value={ports} onChange={(e) => setPorts(e.target.value)} size={10} />
      </Field>
      <button type="submit">Add schedule</button>
      <ActionError error={error} />
    </form>
  );
}
