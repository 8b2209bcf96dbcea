import { useState } from 'react';
import { post } from '../api/client.ts';
import { cancelRun, restPath } from '../api/endpoints.ts';
import type { ListEnvelope, Playbook, PlaybookRun } from '../api/types.ts';
import { fmtAgo, fmtTime } from '../components/format.ts';
import {
  Badge,
  DataTable,
  EmptyState,
  ErrorState,
  Field,
  Loading,
  PageHeader,
  Pager,
} from '../components/ui.tsx';
import { useApi, useLiveReload } from '../lib/hooks.ts';
import { Link, setQuery, useLocation } from '../lib/router.tsx';
import { useSession } from '../lib/session.tsx';

const PAGE_SIZE = 50;

export function PlaybooksPage() {
  const { query } = useLocation();
  const tab = query.get('tab') === 'runs' ? 'runs' : 'playbooks';
  return (
    <>
      <PageHeader
        title="Playbooks & runs"
        subtitle="Automation triggered by container labels, and every run with its status."
      />
      <div className="tabs" role="tablist" aria-label="Playbooks or runs">
        <button
          type="button"
          role="tab"
          aria-selected={tab === 'playbooks'}
          onClick={() => setQuery({ tab: null, page: null })}
        >
          Playbooks
        </button>
        <button
          type="button"
          role="tab"
          aria-selected={tab === 'runs'}
          onClick={() => setQuery({ tab: 'runs', page: null })}
        >
          Runs
        </button>
      </div>
      {tab === 'playbooks' ? <PlaybookList /> : <RunList />}
    </>
  );
}

function PlaybookList() {
  const session = useSession();
  const [error, setError] = useState<unknown>();
  const list = useApi<ListEnvelope<Playbook>>(
    restPath('playbook', { pageSize: 0, sort: 'name', order: 'asc' }),
  );
  if (list.error) return <ErrorState error={list.error} what="Playbooks" />;
  if (error) return <ErrorState error={error} what="Changing the playbook" />;
  if (!list.data) return <Loading />;
  if (list.data.data.length === 0)
    return (
      <EmptyState title="No playbooks registered">
        Playbooks are TypeScript modules registered with the server; the built-in{' '}
        <code>network_exposure</code> playbook confirms, notifies and asks for approval.
      </EmptyState>
    );
  return (
    <DataTable
      label="Playbooks"
      rows={list.data.data}
      rowKey={(p) => String(p.id)}
      columns={[
        { key: 'name', label: 'Name', render: (p) => <strong>{p.name}</strong> },
        { key: 'version', label: 'Version', render: (p) => p.version ?? '—' },
        {
          key: 'labels',
          label: 'Triggered by label',
          render: (p) => {
            const labels = p.labels ?? (Array.isArray(p.label) ? p.label : p.label ? [p.label] : []);
            return labels.map((l) => (
              <span key={l} className="tag">
                {l}
              </span>
            ));
          },
        },
        {
          key: 'active',
          label: 'Active',
          render: (p) => (
            <>
              <Badge value={p.active ? 'success' : 'cancelled'} label={p.active ? 'active' : 'inactive'} />{' '}
              {session.isAdmin ? (
                <button
                  type="button"
                  aria-label={`${p.active ? 'Deactivate' : 'Activate'} playbook ${p.name}`}
                  onClick={() =>
                    post(`/rest/playbook/${p.id}`, { active: !p.active }).then(list.reload, setError)
                  }
                >
                  {p.active ? 'Deactivate' : 'Activate'}
                </button>
              ) : null}
            </>
          ),
        },
        { key: 'description', label: 'Description', render: (p) => p.description ?? '' },
        {
          key: 'runs',
          label: 'Runs',
          render: (p) => <Link href={`/playbooks?tab=runs&playbook=${p.id}`}>runs →</Link>,
        },
      ]}
    />
  );
}

function RunList() {
  const { query } = useLocation();
  const session = useSession();
  const status = query.get('status') ?? '';
  const playbook = query.get('playbook') ?? '';
  const page = Math.max(0, Number(query.get('page') ?? 0) || 0);
  const list = useApi<ListEnvelope<PlaybookRun>>(
    restPath('playbook_run', {
      page,
      pageSize: PAGE_SIZE,
      sort: 'id',
      order: 'desc',
      filters: { status, playbook: playbook ? Number(playbook) : undefined },
    }),
  );
  useLiveReload(['playbook_run_updated'], list.reload);
  const [error, setError] = useState<unknown>();
  return (
    <>
      <form className="filters" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
        <Field label="Status">
          <select value={status} onChange={(e) => setQuery({ status: e.target.value, page: null })}>
            <option value="">any</option>
            {['pending', 'running', 'waiting', 'success', 'failed', 'cancelled'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </Field>
      </form>
      {error ? <ErrorState error={error} what="Cancelling" /> : null}
      {list.error ? (
        <ErrorState error={list.error} what="Playbook runs" />
      ) : !list.data ? (
        <Loading />
      ) : list.data.count === 0 ? (
        <EmptyState title="No runs yet.">
          A run starts when a container's label matches an active playbook, or from a container's page.
        </EmptyState>
      ) : (
        <>
          <DataTable
            label="Playbook runs"
            rows={list.data.data}
            rowKey={(r) => String(r.id)}
            rowHref={(r) =>
              (r.container_id ?? r.container)
                ? `/containers/${r.container_id ?? r.container}`
                : '/playbooks?tab=runs'
            }
            columns={[
              { key: 'id', label: 'Run', className: 'num', render: (r) => r.id },
              {
                key: 'playbook',
                label: 'Playbook',
                render: (r) => r.playbook_name ?? String(r.playbook_id ?? r.playbook ?? ''),
              },
              { key: 'status', label: 'Status', render: (r) => <Badge value={r.state ?? r.status} /> },
              {
                key: 'container',
                label: 'Container',
                render: (r) => {
                  const c = r.container_id ?? r.container;
                  return c ? <Link href={`/containers/${c}`}>{c}</Link> : '—';
                },
              },
              { key: 'message', label: 'Message', render: (r) => r.message ?? '' },
              {
                key: 'start',
                label: 'Started',
                render: (r) => <span title={fmtTime(r.start_time)}>{fmtAgo(r.start_time)}</span>,
              },
              {
                key: 'cancel',
                label: '',
                render: (r) =>
                  session.canWork && ['pending', 'running', 'waiting'].includes(r.state ?? r.status) ? (
                    <button
                      type="button"
                      className="danger"
                      onClick={() => cancelRun(r.id).then(list.reload, setError)}
                      aria-label={`Cancel run ${r.id}`}
                    >
                      Cancel
                    </button>
                  ) : null,
              },
            ]}
          />
          <Pager
            page={page}
            pageSize={PAGE_SIZE}
            count={list.data.count}
            onPage={(p) => setQuery({ page: p || null })}
          />
        </>
      )}
    </>
  );
}
