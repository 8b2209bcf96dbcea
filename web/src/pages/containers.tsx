import { restPath } from '../api/endpoints.ts';
import type { Container, ListEnvelope } from '../api/types.ts';
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

const PAGE_SIZE = 50;

/** Containers (alerts and cases), newest first, filtered on the server with SOAR `_filter_` parameters. */
export function ContainersPage() {
  const { query } = useLocation();
  const status = query.get('status') ?? '';
  const severity = query.get('severity') ?? '';
  const label = query.get('label') ?? '';
  const sort = query.get('sort') ?? 'id';
  const order = query.get('order') === 'asc' ? 'asc' : 'desc';
  const page = Math.max(0, Number(query.get('page') ?? 0) || 0);
  const list = useApi<ListEnvelope<Container>>(
    restPath('container', { page, pageSize: PAGE_SIZE, sort, order, filters: { status, severity, label } }),
  );
  useLiveReload(['container_created', 'container_updated'], list.reload);
  const filtered = Boolean(status || severity || label);
  return (
    <>
      <PageHeader
        title="Containers"
        subtitle="Alerts and cases. New listeners arrive here as network_exposure containers."
      />
      <form className="filters" aria-label="Filter containers" onSubmit={(e) => e.preventDefault()}>
        <Field label="Status">
          <select value={status} onChange={(e) => setQuery({ status: e.target.value, page: null })}>
            <option value="">any</option>
            <option value="new">new</option>
            <option value="open">open</option>
            <option value="closed">closed</option>
          </select>
        </Field>
        <Field label="Severity">
          <select value={severity} onChange={(e) => setQuery({ severity: e.target.value, page: null })}>
            <option value="">any</option>
            <option value="high">high</option>
            <option value="medium">medium</option>
            <option value="low">low</option>
          </select>
        </Field>
        <Field label="Label">
          <input
            defaultValue={label}
            placeholder="network_exposure"
            onBlur={(e) => setQuery({ label: e.target.value.trim(), page: null })}
            onKeyDown={(e) =>
              e.key === 'Enter' && setQuery({ label: e.currentTarget.value.trim(), page: null })
            }
          />
        </Field>
      </form>
      {list.error ? (
        <ErrorState error={list.error} what="Containers" />
      ) : !list.data ? (
        <Loading />
      ) : list.data.count === 0 ? (
        filtered ? (
          <EmptyState title="No container matches these filters." />
        ) : (
          <EmptyState title="No containers yet">
            A container is raised the first time a listener is seen (after the first, learning import). Import
            new evidence on <Link href="/imports">Imports</Link>, or create containers through{' '}
            <code>POST /rest/container</code>.
          </EmptyState>
        )
      ) : (
        <>
          <DataTable
            label="Containers"
            rows={list.data.data}
            rowKey={(c) => String(c.id)}
            rowHref={(c) => `/containers/${c.id}`}
            sort={{ key: sort, order }}
            onSort={(k) =>
              setQuery({ sort: k, order: sort === k && order === 'desc' ? 'asc' : 'desc', page: null })
            }
            columns={[
              { key: 'id', label: 'ID', sortable: true, className: 'num', render: (c) => c.id },
              {
                key: 'name',
                label: 'Name',
                sortable: true,
                render: (c) => <Link href={`/containers/${c.id}`}>{c.name}</Link>,
              },
              {
                key: 'severity',
                label: 'Severity',
                sortable: true,
                render: (c) => <Badge value={c.severity} />,
              },
              { key: 'status', label: 'Status', sortable: true, render: (c) => <Badge value={c.status} /> },
              {
                key: 'label',
                label: 'Label',
                sortable: true,
                render: (c) => <span className="tag">{c.label}</span>,
              },
              {
                key: 'artifact_count',
                label: 'Artifacts',
                className: 'num',
                render: (c) => c.artifact_count ?? '—',
              },
              {
                key: 'create_time',
                label: 'Created',
                sortable: true,
                render: (c) => <span title={fmtTime(c.create_time)}>{fmtAgo(c.create_time)}</span>,
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
