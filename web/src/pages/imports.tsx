import { useRef, useState, type FormEvent } from 'react';
import { importFile } from '../api/endpoints.ts';
import type { ImportSummary, ListEnvelope, Token } from '../api/types.ts';
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
import { fmtAgo, fmtTime } from '../components/format.ts';
import { useApi, useLiveReload } from '../lib/hooks.ts';
import { Link } from '../lib/router.tsx';
import { useSession } from '../lib/session.tsx';
import { NewTokenForm, TokenTable } from './tokens.tsx';

const FORMATS = [
  ['', 'detect from content'],
  ['nmap-xml', 'nmap XML (-oX)'],
  ['nmap-grep', 'nmap greppable (-oG)'],
  ['nmap-normal', 'nmap normal output (-oN)'],
  ['masscan-json', 'masscan JSON (-oJ)'],
  ['masscan-list', 'masscan list (-oL)'],
  ['netcat', 'netcat / ncat -v -z output'],
  ['stream', 'Splunk Stream stream:tcp'],
  ['zeek-conn', 'Zeek conn.log'],
  ['zeek-known-services', 'Zeek known_services.log'],
  ['osquery', 'osquery listening_ports'],
  ['ss', 'ss / netstat -ltnu'],
  ['netflow', 'NetFlow v5 / v9 / IPFIX datagrams'],
  ['pcap', 'packet capture (pcap, pcapng)'],
] as const;

/** One past import as `GET /api/imports` lists it. */
interface ImportRow {
  id: number;
  file: string | null;
  format: string | null;
  learning: boolean | null;
  username: string | null;
  status: string;
  summary: Partial<ImportSummary>;
  error: string | null;
  started_at: string;
  finished_at: string | null;
}

/** Evidence in: file upload with progress, past imports, and the HEC tokens senders use. */
export function ImportsPage() {
  const session = useSession();
  const fileRef = useRef<HTMLInputElement>(null);
  const [format, setFormat] = useState('');
  const [host, setHost] = useState('');
  const [learning, setLearning] = useState('');
  const [progress, setProgress] = useState<number | null>(null);
  const [summary, setSummary] = useState<ImportSummary>();
  const [error, setError] = useState<unknown>();
  const imports = useApi<ListEnvelope<ImportRow>>('/api/imports?limit=15');
  useLiveReload(['import_finished'], imports.reload);
  const tokens = useApi<{ data: Token[] } | Token[]>('/api/tokens');
  const tokenRows = tokens.data ? (Array.isArray(tokens.data) ? tokens.data : tokens.data.data) : [];

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const file = fileRef.current?.files?.[0];
    if (!file) return;
    setError(undefined);
    setSummary(undefined);
    setProgress(0);
    try {
      setSummary(await importFile(file, format, host.trim(), learning, setProgress));
      imports.reload();
    } catch (err) {
      setError(err);
    } finally {
      setProgress(null);
    }
  };
  const issues = summary?.issues ?? [];
  return (
    <>
      <PageHeader
        title="Imports"
        subtitle="Bring port evidence into the baseline: files here, live events through HEC."
      />
      <div className="grid two">
        <Card title="Upload a file">
          {session.canWork ? (
            <form onSubmit={submit} aria-label="Upload evidence">
              <Field
                label="Evidence file"
                hint="nmap XML or greppable, masscan, netcat output, Stream NDJSON, Zeek conn.log, osquery, ss/netstat."
              >
                <input ref={fileRef} type="file" name="file" required />
              </Field>
              <Field label="Format">
                <select value={format} onChange={(e) => setFormat(e.target.value)}>
                  {FORMATS.map(([v, l]) => (
                    <option key={v} value={v}>
                      {l}
                    </option>
                  ))}
                </select>
              </Field>
              <Field
                label="Reporting host"
                hint="Only for host listings (ss, netstat, osquery) that do not name the host."
              >
                <input value={host} onChange={(e) => setHost(e.target.value)} placeholder="10.0.0.5" />
              </Field>
              <Field label="Alerting">
                <select value={learning} onChange={(e) => setLearning(e.target.value)}>
                  <option value="">default (first import into an empty baseline learns)</option>
                  <option value="false">raise containers for new listeners</option>
                  <option value="true">learning run: record only, no containers</option>
                </select>
              </Field>
              <button type="submit" className="primary" disabled={progress !== null}>
                {progress !== null ? 'Uploading…' : 'Import'}
              </button>
              {progress !== null ? (
                <p>
                  <progress className="progress" max={1} value={progress} aria-label="Upload progress" />{' '}
                  {Math.round(progress * 100)}%{progress >= 1 ? ' — processing…' : ''}
                </p>
              ) : null}
              <ActionError error={error} />
            </form>
          ) : (
            <p className="muted">Your role may not import evidence.</p>
          )}
          {summary ? (
            <div className="success" role="status" aria-label="Import summary">
              <strong>Imported {summary.file ?? 'the file'}</strong>
              {summary.format ? ` as ${summary.format}` : ''}
              <dl className="kv">
                <dt>Records read</dt>
                <dd>{summary.records.toLocaleString()}</dd>
                <dt>Observations</dt>
                <dd>{(summary.observations ?? 0).toLocaleString()}</dd>
                <dt>New services</dt>
                <dd>{(summary.new_services ?? 0).toLocaleString()}</dd>
                {summary.containers !== undefined ? (
                  <>
                    <dt>Containers raised</dt>
                    <dd>{summary.containers}</dd>
                  </>
                ) : null}
                {summary.learning !== undefined ? (
                  <>
                    <dt>Learning run</dt>
                    <dd>{summary.learning ? 'yes (no containers)' : 'no'}</dd>
                  </>
                ) : null}
                <dt>Problems</dt>
                <dd>{(summary.issues_total ?? issues.length).toLocaleString()}</dd>
              </dl>
              {issues.length ? (
                <ul className="small">
                  {issues.slice(0, 20).map((e, i) => (
                    <li key={i}>
                      {[
                        e.file,
                        e.line ? `line ${e.line}` : e.offset !== undefined ? `byte ${e.offset}` : '',
                        e.pointer,
                      ]
                        .filter(Boolean)
                        .join(' ')}
                      : {e.message}
                    </li>
                  ))}
                </ul>
              ) : null}
              <p>
                <Link href="/inventory?sort=first_seen&order=desc">See the services →</Link>
              </p>
            </div>
          ) : null}
        </Card>
        <Card title="HEC tokens">
          <p className="small">
            Splunk Stream forwarders and any HTTP Event Collector sender can post to{' '}
            <code>{location.origin}/services/collector/event</code> (or <code>/raw</code>) with{' '}
            <code>Authorization: Splunk &lt;token&gt;</code>. HEC tokens can only ingest.
          </p>
          {session.canWork ? <NewTokenForm kind="hec" onCreated={tokens.reload} /> : null}
          {tokens.error ? (
            <ErrorState error={tokens.error} what="Tokens" />
          ) : !tokens.data ? (
            <Loading />
          ) : (
            <TokenTable
              tokens={tokenRows.filter((t) => t.kind === 'hec')}
              onChanged={tokens.reload}
              canRevoke={session.canWork}
            />
          )}
        </Card>
      </div>
      <Card title="Recent imports">
        {imports.error ? (
          <ErrorState error={imports.error} what="Past imports" />
        ) : !imports.data ? (
          <Loading />
        ) : imports.data.data.length === 0 ? (
          <p className="muted">Nothing imported yet.</p>
        ) : (
          <DataTable
            label="Recent imports"
            rows={imports.data.data}
            rowKey={(r) => String(r.id)}
            columns={[
              { key: 'file', label: 'File', render: (r) => r.file ?? '(request body)' },
              { key: 'format', label: 'Format', render: (r) => r.format ?? r.summary.format ?? '—' },
              {
                key: 'status',
                label: 'Status',
                render: (r) => <Badge value={r.status === 'done' ? 'success' : r.status} label={r.status} />,
              },
              {
                key: 'records',
                label: 'Records',
                className: 'num',
                render: (r) => (r.summary.records ?? 0).toLocaleString(),
              },
              {
                key: 'new',
                label: 'New services',
                className: 'num',
                render: (r) => (r.summary.new_services ?? 0).toLocaleString(),
              },
              {
                key: 'containers',
                label: 'Containers',
                className: 'num',
                render: (r) => (r.summary.containers ?? 0).toLocaleString(),
              },
              {
                key: 'issues',
                label: 'Problems',
                className: 'num',
                render: (r) => (r.summary.issues_total ?? 0).toLocaleString(),
              },
              {
                key: 'learning',
                label: 'Learning',
                render: (r) => ((r.learning ?? r.summary.learning) ? 'yes' : 'no'),
              },
              { key: 'who', label: 'By', render: (r) => r.username ?? '—' },
              {
                key: 'when',
                label: 'When',
                render: (r) => <span title={fmtTime(r.started_at)}>{fmtAgo(r.started_at)}</span>,
              },
              {
                key: 'error',
                label: '',
                render: (r) => (r.error ? <span className="small wrap">{r.error}</span> : null),
              },
            ]}
          />
        )}
      </Card>
    </>
  );
}
