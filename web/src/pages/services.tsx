import { useEffect, useMemo, useState } from 'react';
import { servicesPath } from '../api/endpoints.ts';
import type { ListEnvelope, Service } from '../api/types.ts';
import { ApproveDialog } from '../components/approve-dialog.tsx';
import { fmtAgo, fmtNum, fmtTime } from '../components/format.ts';
import {
  Badge,
  DataTable,
  EmptyState,
  ErrorState,
  Field,
  Loading,
  PageHeader,
  Pager,
  type Column,
} from '../components/ui.tsx';
import { useApi, useLiveReload } from '../lib/hooks.ts';
import { Link, setQuery, useLocation } from '../lib/router.tsx';
import { useSession } from '../lib/session.tsx';

const PAGE_SIZE = 50;
/** `ssh OpenSSH 9.2p1` from the latest evidence's service details. */
export function serviceLabel(s: Service): string {
  const d = s.service;
  if (!d) return '';
  return [d.name, d.product, d.version].filter(Boolean).join(' ');
}

export const serviceKey = (s: Pick<Service, 'host' | 'protocol' | 'port'>) =>
  `${s.host}|${s.protocol}|${s.port}`;

/** The inventory's filters, sort and page as the URL gives them. */
export function inventoryFilters(query: URLSearchParams) {
  return {
    host: query.get('host') ?? '',
    port: query.get('port') ?? '',
    protocol: query.get('protocol') ?? '',
    state: query.get('state') ?? '',
    source: query.get('source') ?? '',
    evidence: query.get('evidence') ?? '',
    seen_since: query.get('seen_since') ?? '',
    sort: query.get('sort') ?? 'last_seen',
    order: (query.get('order') === 'asc' ? 'asc' : 'desc') as 'asc' | 'desc',
    page: Math.max(0, Number(query.get('page') ?? 0) || 0),
  };
}

/** The API path of the inventory page the URL shows. */
export const inventoryPath = (query: URLSearchParams) =>
  servicesPath({ ...inventoryFilters(query), pageSize: PAGE_SIZE });

/** The services inventory: filters, sort and paging all happen on the server (fast at 100,000 rows). */
export function ServicesPage() {
  const { query } = useLocation();
  const session = useSession();
  const f = inventoryFilters(query);
  const [hostText, setHostText] = useState(f.host);
  const [portText, setPortText] = useState(f.port);
  useEffect(() => setHostText(f.host), [f.host]);
  useEffect(() => setPortText(f.port), [f.port]);

  const path = inventoryPath(query);
  const list = useApi<ListEnvelope<Service>>(path);
  useLiveReload(['service_new', 'service_updated', 'import_finished', 'scan_finished'], list.reload);

  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [approving, setApproving] = useState<Service[] | null>(null);
  const [flash, setFlash] = useState<string>();
  useEffect(() => setSelected(new Set()), [path]);

  const rows = list.data?.data ?? [];
  const selectedRows = rows.filter((r) => selected.has(serviceKey(r)));
  const onSort = (key: string) =>
    setQuery({ sort: key, order: f.sort === key && f.order === 'desc' ? 'asc' : 'desc', page: null });
  const setFilter = (k: string, v: string) => setQuery({ [k]: v, page: null });
  const filtered = Boolean(
    f.host || f.port || f.protocol || f.state || f.source || f.evidence || f.seen_since,
  );

  const columns: Column<Service>[] = useMemo(
    () => [
      {
        key: 'host',
        label: 'Host',
        sortable: true,
        render: (s) => <Link href={`/hosts/${encodeURIComponent(s.host)}`}>{s.host}</Link>,
      },
      { key: 'port', label: 'Port', sortable: true, className: 'num', render: (s) => s.port },
      { key: 'protocol', label: 'Proto', sortable: true, render: (s) => s.protocol },
      { key: 'state', label: 'State', sortable: true, render: (s) => <Badge value={s.state} /> },
      { key: 'evidence', label: 'Evidence', render: (s) => <Badge value={s.evidence} /> },
      {
        key: 'service',
        label: 'Service',
        render: (s) => serviceLabel(s) || <span className="muted">—</span>,
      },
      {
        key: 'sources',
        label: 'Sources',
        render: (s) =>
          (s.sources ?? []).map((x) => (
            <span key={x} className="tag">
              {x}
            </span>
          )),
      },
      {
        key: 'first_seen',
        label: 'First seen',
        sortable: true,
        render: (s) => (
          <time dateTime={s.first_seen} title={s.first_seen}>
            {fmtTime(s.first_seen)}
          </time>
        ),
      },
      {
        key: 'last_seen',
        label: 'Last seen',
        sortable: true,
        render: (s) => (
          <time dateTime={s.last_seen} title={fmtTime(s.last_seen)}>
            {fmtAgo(s.last_seen)}
          </time>
        ),
      },
      {
        key: 'observations',
        label: 'Obs.',
        sortable: true,
        className: 'num',
        render: (s) => fmtNum(s.observations),
      },
    ],
    [],
  );

  return (
    <>
      <PageHeader
        title="Services"
        subtitle="Every listener on the network: one row per host, protocol and port."
        actions={
          list.data ? <span className="muted">{list.data.count.toLocaleString()} services</span> : null
        }
      />
      <form
        className="filters"
        role="search"
        aria-label="Filter services"
        onSubmit={(e) => e.preventDefault()}
      >
        <Field label="Host, CIDR or host name">
          <input
            type="search"
            name="host"
            value={hostText}
            placeholder="10.0.0.0/8"
            size={20}
            onChange={(e) => setHostText(e.target.value)}
            onBlur={() => hostText.trim() !== f.host && setFilter('host', hostText.trim())}
            onKeyDown={(e) => e.key === 'Enter' && setFilter('host', hostText.trim())}
          />
        </Field>
        <Field label="Port">
          <input
            name="port"
            value={portText}
            inputMode="numeric"
            placeholder="22"
            size={6}
            onChange={(e) => setPortText(e.target.value)}
            onBlur={() => portText.trim() !== f.port && setFilter('port', portText.trim())}
            onKeyDown={(e) => e.key === 'Enter' && setFilter('port', portText.trim())}
          />
        </Field>
        <Field label="Protocol">
          <select name="protocol" value={f.protocol} onChange={(e) => setFilter('protocol', e.target.value)}>
            <option value="">any</option>
            <option value="tcp">tcp</option>
            <option value="udp">udp</option>
          </select>
        </Field>
        <Field label="State">
          <select name="state" value={f.state} onChange={(e) => setFilter('state', e.target.value)}>
            <option value="">any</option>
            <option value="new">new</option>
            <option value="unapproved">unapproved</option>
            <option value="approved">approved</option>
            <option value="gone">gone</option>
          </select>
        </Field>
        <Field label="Evidence">
          <select name="evidence" value={f.evidence} onChange={(e) => setFilter('evidence', e.target.value)}>
            <option value="">any</option>
            <option value="strong">strong</option>
            <option value="weak">weak only</option>
          </select>
        </Field>
        <Field label="Source">
          <input
            name="source"
            defaultValue={f.source}
            key={f.source}
            placeholder="nmap"
            size={8}
            onBlur={(e) => e.target.value.trim() !== f.source && setFilter('source', e.target.value.trim())}
            onKeyDown={(e) => e.key === 'Enter' && setFilter('source', e.currentTarget.value.trim())}
          />
        </Field>
        <Field label="Seen in the last">
          <select
            name="seen_since"
            value={f.seen_since}
            onChange={(e) => setFilter('seen_since', e.target.value)}
          >
            <option value="">any time</option>
            <option value="-1h">hour</option>
            <option value="-24h">24 hours</option>
            <option value="-7d">7 days</option>
            <option value="-30d">30 days</option>
          </select>
        </Field>
        {filtered ? (
          <button
            type="button"
            onClick={() =>
              setQuery({
                host: null,
                port: null,
                protocol: null,
                state: null,
                source: null,
                evidence: null,
                seen_since: null,
                page: null,
              })
            }
          >
            Clear filters
          </button>
        ) : null}
      </form>
      {flash ? (
        <p className="success" role="status">
          {flash}
        </p>
      ) : null}
      {selectedRows.length > 0 && session.canWork ? (
        <div className="bulkbar" role="region" aria-label="Bulk actions">
          <strong>{selectedRows.length} selected</strong>
          <button type="button" className="primary" onClick={() => setApproving(selectedRows)}>
            Approve selected…
          </button>
          <button type="button" onClick={() => setSelected(new Set())}>
            Clear selection
          </button>
        </div>
      ) : null}
      {list.error ? (
        <ErrorState error={list.error} what="The service inventory" />
      ) : !list.data ? (
        <Loading label="Loading services…" />
      ) : list.data.count === 0 ? (
        filtered ? (
          <EmptyState title="No service matches these filters.">Widen the filters or clear them.</EmptyState>
        ) : (
          <EmptyState title="No services yet">
            Upload an nmap XML on <Link href="/imports">Imports</Link>, or point a HEC sender at{' '}
            <code>/services/collector</code>.
          </EmptyState>
        )
      ) : (
        <>
          <DataTable
            label="Services"
            columns={
              session.canWork
                ? [
                    ...columns,
                    {
                      key: 'act',
                      label: 'Action',
                      render: (s) =>
                        s.state === 'approved' ? (
                          <span className="muted small" title={s.justification ?? ''}>
                            approved
                          </span>
                        ) : (
                          <button
                            type="button"
                            onClick={() => setApproving([s])}
                            aria-label={`Approve ${s.host} port ${s.port}/${s.protocol}`}
                          >
                            Approve
                          </button>
                        ),
                    },
                  ]
                : columns
            }
            rows={rows}
            rowKey={serviceKey}
            rowHref={(s) => `/hosts/${encodeURIComponent(s.host)}`}
            sort={{ key: f.sort, order: f.order }}
            onSort={onSort}
            selection={
              session.canWork
                ? {
                    selected,
                    toggle: (k) =>
                      setSelected((old) => {
                        const n = new Set(old);
                        if (n.has(k)) n.delete(k);
                        else n.add(k);
                        return n;
                      }),
                    toggleAll: () =>
                      setSelected((old) =>
                        rows.every((r) => old.has(serviceKey(r))) ? new Set() : new Set(rows.map(serviceKey)),
                      ),
                  }
                : undefined
            }
          />
          <Pager
            page={f.page}
            pageSize={PAGE_SIZE}
            count={list.data.count}
            onPage={(p) => setQuery({ page: p || null })}
          />
        </>
      )}
      {approving ? (
        <ApproveDialog
          services={approving}
          open
          onClose={() => setApproving(null)}
          onDone={(n) => {
            setApproving(null);
            setSelected(new Set());
            setFlash(`Approved ${n} service${n === 1 ? '' : 's'}.`);
            list.reload();
          }}
        />
      ) : null}
    </>
  );
}
