import { useState } from 'react';
import { restPath, servicesPath } from '../api/endpoints.ts';
import type { Container, ListEnvelope, Service } from '../api/types.ts';
import { ApproveDialog } from '../components/approve-dialog.tsx';
import { fmtAgo, fmtNum, fmtTime } from '../components/format.ts';
import { ServiceTimeline } from '../components/timeline.tsx';
import { Badge, Card, DataTable, EmptyState, ErrorState, Loading, PageHeader } from '../components/ui.tsx';
import { useApi, useLiveReload } from '../lib/hooks.ts';
import { Link } from '../lib/router.tsx';
import { useSession } from '../lib/session.tsx';
import { serviceKey, serviceLabel } from './services.tsx';

/** One host: every port with first/last seen, evidence and sources, as a table and a timeline. */
export function HostPage(props: { host: string }) {
  const session = useSession();
  const list = useApi<ListEnvelope<Service>>(
    servicesPath({ host: props.host, sort: 'port', order: 'asc', page: 0, pageSize: 1000 }),
  );
  useLiveReload(['service_new', 'service_updated', 'import_finished', 'scan_finished'], list.reload);
  const containers = useApi<ListEnvelope<Container>>(
    restPath('container', {
      pageSize: 10,
      sort: 'id',
      order: 'desc',
      filters: { name__icontains: props.host },
    }),
  );
  const [approving, setApproving] = useState<Service[] | null>(null);
  const [flash, setFlash] = useState<string>();
  const rows = list.data?.data ?? [];
  const open = rows.filter((s) => s.state !== 'gone');
  const pending = rows.filter((s) => s.state === 'new' || s.state === 'unapproved');

  return (
    <>
      <PageHeader
        title={props.host}
        subtitle={
          list.data ? (
            <>
              {open.length} listening, {pending.length} waiting for a decision ·{' '}
              <Link href={`/inventory?host=${encodeURIComponent(props.host)}`}>in the inventory</Link>
            </>
          ) : undefined
        }
        actions={
          session.canWork && pending.length > 1 ? (
            <button type="button" className="primary" onClick={() => setApproving(pending)}>
              Approve all {pending.length} pending…
            </button>
          ) : null
        }
      />
      {flash ? (
        <p className="success" role="status">
          {flash}
        </p>
      ) : null}
      {list.error ? (
        <ErrorState error={list.error} what="This host's services" />
      ) : !list.data ? (
        <Loading />
      ) : rows.length === 0 ? (
        <EmptyState title={`Nothing is known to listen on ${props.host}.`}>
          Import evidence that covers this host on <Link href="/imports">Imports</Link> or scan it from{' '}
          <Link href="/scans">Scans</Link>.
        </EmptyState>
      ) : (
        <div className="stack">
          <Card title="Timeline: first to last sighting per port">
            <ServiceTimeline services={rows} />
          </Card>
          <DataTable
            label={`Ports of ${props.host}`}
            rows={rows}
            rowKey={serviceKey}
            columns={[
              { key: 'port', label: 'Port', className: 'num', render: (s) => s.port },
              { key: 'protocol', label: 'Proto', render: (s) => s.protocol },
              { key: 'state', label: 'State', render: (s) => <Badge value={s.state} /> },
              {
                key: 'service',
                label: 'Service',
                render: (s) => serviceLabel(s) || <span className="muted">—</span>,
              },
              {
                key: 'evidence',
                label: 'Evidence',
                render: (s) => (
                  <>
                    <Badge value={s.evidence} />
                    {s.reason ? <div className="muted small">{s.reason}</div> : null}
                    {s.service?.banner ? <div className="muted small mono">{s.service.banner}</div> : null}
                  </>
                ),
              },
              {
                key: 'sources',
                label: 'Sources (first – last seen, observations)',
                render: (s) => (
                  <ul className="plain-list small">
                    {(s.sources ?? []).map((src) => {
                      const d = s.source_details?.[src];
                      return (
                        <li key={src}>
                          <span className="tag">{src}</span>
                          {d ? (
                            <span className="muted">
                              {fmtTime(d.first_seen)} – {fmtTime(d.last_seen)}, {fmtNum(d.observations)}×{' '}
                              {d.evidence}
                            </span>
                          ) : null}
                        </li>
                      );
                    })}
                  </ul>
                ),
              },
              {
                key: 'first_seen',
                label: 'First seen',
                render: (s) => <time dateTime={s.first_seen}>{fmtTime(s.first_seen)}</time>,
              },
              {
                key: 'last_seen',
                label: 'Last seen',
                render: (s) => <span title={fmtTime(s.last_seen)}>{fmtAgo(s.last_seen)}</span>,
              },

              {
                key: 'decision',
                label: 'Decision',
                render: (s) =>
                  s.state === 'approved' ? (
                    <span className="small">
                      {s.justification ?? 'approved'}
                      <span className="muted">
                        {s.approver ? ` — ${s.approver}` : ''}
                        {s.expires_at ? `, until ${fmtTime(s.expires_at)}` : ''}
                      </span>
                    </span>
                  ) : session.canWork && s.state !== 'gone' ? (
                    <button
                      type="button"
                      onClick={() => setApproving([s])}
                      aria-label={`Approve port ${s.port}/${s.protocol}`}
                    >
                      Approve…
                    </button>
                  ) : (
                    <span className="muted">—</span>
                  ),
              },
            ]}
          />
          <Card title="Containers about this host">
            {containers.error ? (
              <ErrorState error={containers.error} what="Containers" />
            ) : !containers.data ? (
              <Loading />
            ) : containers.data.data.length === 0 ? (
              <p className="muted">No containers mention this host.</p>
            ) : (
              <ul className="plain-list">
                {containers.data.data.map((c) => (
                  <li key={c.id}>
                    <Badge value={c.status} /> <Link href={`/containers/${c.id}`}>{c.name}</Link>{' '}
                    <span className="muted small">{fmtAgo(c.create_time)}</span>
                  </li>
                ))}
              </ul>
            )}
          </Card>
        </div>
      )}
      {approving ? (
        <ApproveDialog
          services={approving}
          open
          onClose={() => setApproving(null)}
          onDone={(n) => {
            setApproving(null);
            setFlash(`Approved ${n} service${n === 1 ? '' : 's'}.`);
            list.reload();
          }}
        />
      ) : null}
    </>
  );
}
