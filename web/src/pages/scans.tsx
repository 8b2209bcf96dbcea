import { useState, type FormEvent } from 'react';
import { del, post } from '../api/client.ts';
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
import { useSession } from '../lib/session.tsx';

type Listing<T> = ListEnvelope<T> | { data: T[] } | T[];
const rowsOf = <T,>(d: Listing<T> | undefined): T[] => (!d ? [] : Array.isArray(d) ? d : d.data);
const targetsText = (t: string | string[]) => (Array.isArray(t) ? t.join(', ') : t);

/** Scopes (where scanning is allowed), scans with live progress, and schedules. */
export function ScansPage() {
  const session = useSession();
  const scopes = useApi<Listing<Scope>>('/api/scopes');
  const scans = useApi<Listing<Scan>>('/api/scans?limit=25&sort=id&order=desc');
  const schedules = useApi<Listing<ScanSchedule>>('/api/scans/schedules');
  const [live, setLive] = useState<
    Record<string, { done?: number; total?: number; open?: number; status?: string }>
  >({});
  useLive(['scan_progress'], (m) => {
    const id = String(m.data.scan_id ?? m.data.id ?? '');
    if (!id) return;
    setLive((old) => ({
      ...old,
      [id]: {
        done: Number(m.data.done ?? 0),
        total: Number(m.data.total ?? 0),
        open: m.data.open !== undefined ? Number(m.data.open) : undefined,
        status: typeof m.data.status === 'string' ? m.data.status : 'running',
      },
    }));
  });
  useLiveReload(['scan_finished'], scans.reload);
  const noScope =
    scopes.data !== undefined &&
    rowsOf(scopes.data).filter((s) => (s.kind ?? 'allow') !== 'exclude' && !s.exclude).length === 0;

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
              ) : (
                <ScopeTable
                  scopes={rowsOf(scopes.data)}
                  canEdit={session.isAdmin}
                  onChanged={scopes.reload}
                />
              )}
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
        ) : rowsOf(scans.data).length === 0 ? (
          <EmptyState title="No scans yet.">Run one above, or add a schedule below.</EmptyState>
        ) : (
          <DataTable
            label="Scans"
            rows={rowsOf(scans.data)}
            rowKey={(s) => String(s.id)}
            columns={[
              { key: 'id', label: 'Scan', className: 'num', render: (s) => s.id },
              { key: 'targets', label: 'Targets', render: (s) => <code>{targetsText(s.targets)}</code> },
              { key: 'ports', label: 'Ports', render: (s) => <code>{s.ports}</code> },
              {
                key: 'status',
                label: 'Status',
                render: (s) => <Badge value={live[String(s.id)]?.status ?? s.status} />,
              },
              {
                key: 'progress',
                label: 'Progress',
                render: (s) => {
                  const l = live[String(s.id)];
                  const done = l?.done ?? s.done;
                  const total = l?.total ?? s.total;
                  if (!total)
                    return s.progress !== undefined && s.progress !== null
                      ? `${Math.round(s.progress * 100)}%`
                      : '—';
                  return (
                    <span>
                      <progress max={total} value={done ?? 0} aria-label={`Scan ${s.id} progress`} />{' '}
                      {(done ?? 0).toLocaleString()}/{total.toLocaleString()}
                    </span>
                  );
                },
              },
              {
                key: 'open',
                label: 'Open found',
                className: 'num',
                render: (s) => live[String(s.id)]?.open ?? s.open_ports ?? s.found ?? '—',
              },
              {
                key: 'started',
                label: 'Started',
                render: (s) => (
                  <span title={fmtTime(s.started_at ?? s.created_at)}>
                    {fmtAgo(s.started_at ?? s.created_at)}
                  </span>
                ),
              },
              { key: 'msg', label: 'Message', render: (s) => s.error ?? s.message ?? '' },
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
            {rowsOf(schedules.data).length === 0 ? (
              <p className="muted">
                No scheduled scans. A schedule is a cron expression (e.g. <code>0 2 * * *</code>, nightly at
                02:00).
              </p>
            ) : (
              <DataTable
                label="Scan schedules"
                rows={rowsOf(schedules.data)}
                rowKey={(s) => String(s.id)}
                columns={[
                  { key: 'name', label: 'Name', render: (s) => s.name ?? `schedule ${s.id}` },
                  { key: 'cron', label: 'Cron', render: (s) => <code>{s.cron}</code> },
                  { key: 'targets', label: 'Targets', render: (s) => <code>{targetsText(s.targets)}</code> },
                  { key: 'ports', label: 'Ports', render: (s) => <code>{s.ports}</code> },
                  { key: 'next', label: 'Next run', render: (s) => fmtTime(s.next_run_at) },
                  { key: 'last', label: 'Last run', render: (s) => fmtAgo(s.last_run_at) },
                  { key: 'enabled', label: 'Enabled', render: (s) => (s.enabled === false ? 'no' : 'yes') },
                ]}
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
        rowKey={(s) => String(s.id ?? s.cidr)}
        columns={[
          { key: 'cidr', label: 'CIDR', render: (s) => <code>{s.cidr}</code> },
          {
            key: 'kind',
            label: 'Kind',
            render: (s) => (s.exclude || s.kind === 'exclude' ? 'exclude' : 'allow'),
          },
          { key: 'description', label: 'Description', render: (s) => s.description ?? '' },
          {
            key: 'remove',
            label: '',
            render: (s) =>
              props.canEdit ? (
                <button
                  type="button"
                  className="danger"
                  aria-label={`Remove scope ${s.cidr}`}
                  onClick={() =>
                    del(`/api/scopes/${encodeURIComponent(String(s.id ?? s.cidr))}`).then(
                      props.onChanged,
                      setError,
                    )
                  }
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
  const [error, setError] = useState<unknown>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await post('/api/scopes', { cidr: cidr.trim(), kind });
      setCidr('');
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
    try {
      const r = await post<{ id?: number | string; scan_id?: number | string }>('/api/scans', {
        targets: targets.split(/[\s,]+/).filter(Boolean),
        ports,
        banner,
      });
      setStarted(`Scan ${r?.id ?? r?.scan_id ?? ''} started.`);
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
          {started} Progress appears below as it runs.
        </p>
      ) : null}
    </form>
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
      await post('/api/scans/schedules', {
        name: name || undefined,
        cron,
        targets: targets.split(/[\s,]+/).filter(Boolean),
        ports,
      });
      setTargets('');
      setName('');
      props.onAdded();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label="Add a schedule" style={{ marginTop: 12 }}>
      <Field label="Name">
        <input value={name} onChange={(e) => setName(e.target.value)} placeholder="nightly-dmz" />
      </Field>
      <Field label="Cron">
        <input required value={cron} onChange={(e) => setCron(e.target.value)} size={12} />
      </Field>
      <Field label="Targets">
        <input
          required
          value={targets}
          onChange={(e) => setTargets(e.target.value)}
          placeholder="198.18.0.0/24"
        />
      </Field>
      <Field label="Ports">
        <input required value={ports} onChange={(e) => setPorts(e.target.value)} size={10} />
      </Field>
      <button type="submit">Add schedule</button>
      <ActionError error={error} />
    </form>
  );
}
