import { useCallback, useEffect, useState } from 'react';
import { get } from '../api/client.ts';
import { restPath, servicesPath } from '../api/endpoints.ts';
import type { Container, ListEnvelope, PlaybookRun, Prompt } from '../api/types.ts';
import { BarChart } from '../components/chart.tsx';
import { fmtAgo } from '../components/format.ts';
import { Badge, Card, EmptyState, ErrorState, Loading, PageHeader } from '../components/ui.tsx';
import { useApi, useLiveReload } from '../lib/hooks.ts';
import { Link } from '../lib/router.tsx';

const STATES = [
  { state: 'new', label: 'New', tone: 'warn' },
  { state: 'unapproved', label: 'Unapproved', tone: 'bad' },
  { state: 'approved', label: 'Approved', tone: 'good' },
  { state: 'gone', label: 'Gone', tone: 'muted' },
] as const;
const SEVERITIES = ['high', 'medium', 'low'] as const;
const DAYS = 14;

const count = (path: string) => get<ListEnvelope<unknown>>(path).then((r) => r.count);

/** Runs a set of count queries together; one failure fails the card (shown as its error). */
function useCounts(paths: string[], reloadOn: string[]) {
  const [state, setState] = useState<{ values?: number[]; error?: unknown }>({});
  const key = paths.join('|');
  const load = useCallback(() => {
    Promise.all(key.split('|').map(count)).then(
      (values) => setState({ values }),
      (error: unknown) => setState({ error }),
    );
  }, [key]);
  useEffect(load, [load]);
  useLiveReload(reloadOn, load);
  return state;
}

function dayStart(offsetDays: number): string {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  d.setDate(d.getDate() - offsetDays);
  return d.toISOString();
}

export function OverviewPage() {
  const byState = useCounts(
    STATES.map((s) => servicesPath({ state: s.state, page: 0, pageSize: 1 })),
    ['service_new', 'service_updated', 'import_finished', 'scan_finished'],
  );
  // New listeners per day: services first seen since each midnight, differenced.
  const sinces = Array.from({ length: DAYS + 1 }, (_, i) => dayStart(DAYS - 1 - i));
  const firstSeen = useCounts(
    sinces.map((s) => `${servicesPath({ page: 0, pageSize: 1 })}&first_seen_since=${encodeURIComponent(s)}`),
    ['service_new', 'import_finished', 'scan_finished'],
  );
  const bySeverity = useCounts(
    SEVERITIES.flatMap((sev) =>
      ['new', 'open'].map((status) =>
        restPath('container', { pageSize: 1, filters: { severity: sev, status } }),
      ),
    ),
    ['container_created', 'container_updated'],
  );
  const prompts = useApi<ListEnvelope<Prompt>>(
    restPath('approval', { pageSize: 8, sort: 'id', order: 'desc', filters: { status: 'pending' } }),
  );
  useLiveReload(['prompt_created', 'prompt_answered'], prompts.reload);
  const runs = useApi<ListEnvelope<PlaybookRun>>(
    restPath('playbook_run', { pageSize: 8, sort: 'id', order: 'desc' }),
  );
  useLiveReload(['playbook_run_updated'], runs.reload);
  const recent = useApi<ListEnvelope<Container>>(
    restPath('container', { pageSize: 6, sort: 'id', order: 'desc' }),
  );
  useLiveReload(['container_created', 'container_updated'], recent.reload);

  const total = byState.values?.reduce((a, b) => a + b, 0);
  const buckets =
    firstSeen.values?.slice(0, DAYS).map((v, i) => {
      const d = new Date(sinces[i]!);
      return {
        label: d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }),
        value: Math.max(0, v - (firstSeen.values![i + 1] ?? 0)),
      };
    }) ?? [];

  return (
    <>
      <PageHeader title="Overview" subtitle="What is exposed, what is new, what needs a decision." />
      {total === 0 ? (
        <EmptyState title="No services yet">
          Upload an nmap XML (or netcat, Zeek, Stream…) file on <Link href="/imports">Imports</Link>, point a
          HEC sender at <code>/services/collector</code>, or define a scope and run a scan on{' '}
          <Link href="/scans">Scans</Link>. The first import into an empty baseline is a learning run: it
          records what listens today without raising alerts.
        </EmptyState>
      ) : null}
      <div className="grid two">
        <Card title="Services by state" actions={<Link href="/inventory">Inventory →</Link>}>
          {byState.error ? (
            <ErrorState error={byState.error} what="The service inventory" />
          ) : !byState.values ? (
            <Loading />
          ) : (
            <div className="stats">
              {STATES.map((s, i) => (
                <Link key={s.state} className={`stat tone-${s.tone}`} href={`/inventory?state=${s.state}`}>
                  <span className="n">{byState.values![i]!.toLocaleString()}</span>
                  <span className="l">{s.label}</span>
                </Link>
              ))}
            </div>
          )}
        </Card>
        <Card title="Open containers by severity" actions={<Link href="/containers">Containers →</Link>}>
          {bySeverity.error ? (
            <ErrorState error={bySeverity.error} what="Containers" />
          ) : !bySeverity.values ? (
            <Loading />
          ) : (
            <div className="stats">
              {SEVERITIES.map((sev, i) => (
                <Link
                  key={sev}
                  className={`stat tone-${sev === 'high' ? 'bad' : sev === 'medium' ? 'warn' : 'info'}`}
                  href={`/containers?severity=${sev}`}
                >
                  <span className="n">
                    {(bySeverity.values![i * 2]! + bySeverity.values![i * 2 + 1]!).toLocaleString()}
                  </span>
                  <span className="l">{sev}</span>
                </Link>
              ))}
            </div>
          )}
        </Card>
      </div>
      <div className="grid two">
        <Card title={`New listeners, last ${DAYS} days`}>
          {firstSeen.error ? (
            <ErrorState error={firstSeen.error} what="Listener history" />
          ) : !firstSeen.values ? (
            <Loading />
          ) : (
            <BarChart
              label={`Services first seen per day (${buckets.reduce((a, b) => a + b.value, 0)} in ${DAYS} days)`}
              buckets={buckets}
            />
          )}
        </Card>
        <Card title="Pending approvals">
          {prompts.error ? (
            <ErrorState error={prompts.error} what="Approvals" />
          ) : !prompts.data ? (
            <Loading />
          ) : prompts.data.data.length === 0 ? (
            <EmptyState title="Nothing waits for a decision.">
              Playbooks ask here when a new listener needs approval or blocking.
            </EmptyState>
          ) : (
            <ul className="plain-list">
              {prompts.data.data.map((p) => {
                const cid = p.container;
                return (
                  <li key={p.id}>
                    {cid ? (
                      <Link href={`/containers/${cid}`}>{p.message || p.name}</Link>
                    ) : (
                      p.message || p.name
                    )}{' '}
                    <span className="muted small">due {fmtAgo(p.due_time)}</span>
                  </li>
                );
              })}
            </ul>
          )}
        </Card>
      </div>
      <div className="grid two">
        <Card title="Recent containers">
          {recent.error ? (
            <ErrorState error={recent.error} what="Containers" />
          ) : !recent.data ? (
            <Loading />
          ) : recent.data.data.length === 0 ? (
            <EmptyState title="No containers yet.">
              A container is raised the first time a listener is seen after the learning run.
            </EmptyState>
          ) : (
            <ul className="plain-list">
              {recent.data.data.map((c) => (
                <li key={c.id}>
                  <Badge value={c.severity} /> <Link href={`/containers/${c.id}`}>{c.name}</Link>{' '}
                  <span className="muted small">{fmtAgo(c.create_time)}</span>
                </li>
              ))}
            </ul>
          )}
        </Card>
        <Card title="Recent playbook runs" actions={<Link href="/playbooks">Runs →</Link>}>
          {runs.error ? (
            <ErrorState error={runs.error} what="Playbook runs" />
          ) : !runs.data ? (
            <Loading />
          ) : runs.data.data.length === 0 ? (
            <EmptyState title="No playbook runs yet.">
              Runs start when a container's label matches an active playbook.
            </EmptyState>
          ) : (
            <ul className="plain-list">
              {runs.data.data.map((r) => {
                const cid = r.container_id ?? r.container;
                return (
                  <li key={r.id}>
                    <Badge value={r.state ?? r.status} />{' '}
                    {r.playbook_name ?? `playbook ${r.playbook_id ?? r.playbook}`}{' '}
                    {cid ? <Link href={`/containers/${cid}`}>container {cid}</Link> : null}{' '}
                    <span className="muted small">{fmtAgo(r.start_time ?? r.update_time)}</span>
                  </li>
                );
              })}
            </ul>
          )}
        </Card>
      </div>
    </>
  );
}
