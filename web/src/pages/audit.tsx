import { restPath } from '../api/endpoints.ts';
import type { AuditEntry, ListEnvelope } from '../api/types.ts';
import { fmtTime } from '../components/format.ts';
import { DataTable, EmptyState, ErrorState, Field, Loading, PageHeader, Pager } from '../components/ui.tsx';
import { useApi } from '../lib/hooks.ts';
import { Link, setQuery, useLocation } from '../lib/router.tsx';

const PAGE_SIZE = 100;

/** The audit trail: security events and every container change, newest first. */
export function AuditPage() {
  const { query } = useLocation();
  const page = Math.max(0, Number(query.get('page') ?? 0) || 0);
  const category = query.get('category') ?? '';
  const actor = query.get('actor') ?? '';
  const list = useApi<ListEnvelope<AuditEntry>>(
    restPath('audit', { page, pageSize: PAGE_SIZE, sort: 'id', order: 'desc', filters: { category, actor } }),
  );
  return (
    <>
      <PageHeader
        title="Audit log"
        subtitle="Who or what changed what, when: sign-ins, tokens, users, secrets, containers."
      />
      <form className="filters" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
        <Field label="Category">
          <select value={category} onChange={(e) => setQuery({ category: e.target.value, page: null })}>
            <option value="">any</option>
            <option value="security">security</option>
            <option value="container">container</option>
          </select>
        </Field>
        <Field label="Actor">
          <input
            defaultValue={actor}
            placeholder="user name"
            onKeyDown={(e) =>
              e.key === 'Enter' && setQuery({ actor: e.currentTarget.value.trim(), page: null })
            }
            onBlur={(e) => setQuery({ actor: e.target.value.trim(), page: null })}
          />
        </Field>
      </form>
      {list.error ? (
        <ErrorState error={list.error} what="The audit log" />
      ) : !list.data ? (
        <Loading />
      ) : list.data.count === 0 ? (
        <EmptyState title="The audit log is empty." />
      ) : (
        <>
          <DataTable
            label="Audit log"
            rows={list.data.data}
            rowKey={(a) => String(a.id)}
            columns={[
              {
                key: 'time',
                label: 'Time',
                render: (a) => <time className="nowrap">{fmtTime(a.time ?? a.at ?? a.created_at)}</time>,
              },
              { key: 'actor', label: 'Actor', render: (a) => a.actor ?? a.username ?? a.user ?? '—' },
              {
                key: 'action',
                label: 'Action',
                render: (a) => (
                  <code className="nowrap">
                    {a.category ? `${a.category}/` : ''}
                    {a.action ?? a.type ?? a.event}
                  </code>
                ),
              },
              {
                key: 'object',
                label: 'Object',
                render: (a) => (
                  <span className="nowrap">
                    {a.object_type ? `${a.object_type} ${a.object_id ?? ''}` : '—'}
                    {a.container_id && a.object_type !== 'container' ? (
                      <>
                        {' '}
                        in <Link href={`/containers/${a.container_id}`}>container {a.container_id}</Link>
                      </>
                    ) : a.container_id ? (
                      <>
                        {' '}
                        <Link
                          href={`/containers/${a.container_id}`}
                          aria-label={`Open container ${a.container_id}`}
                        >
                          →
                        </Link>
                      </>
                    ) : null}
                  </span>
                ),
              },
              {
                key: 'details',
                label: 'Details',
                render: (a) => (
                  <span className="mono small wrap">
                    {a.message ?? (a.details ? JSON.stringify(a.details) : '')}
                  </span>
                ),
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
