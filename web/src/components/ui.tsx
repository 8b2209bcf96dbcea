import { useEffect, useId, useRef, type KeyboardEvent, type ReactNode } from 'react';
import { ApiError } from '../api/client.ts';
import { navigate } from '../lib/router.tsx';

export function PageHeader(props: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1 id="page-title" tabIndex={-1}>
          {props.title}
        </h1>
        {props.subtitle ? <p className="muted">{props.subtitle}</p> : null}
      </div>
      {props.actions ? <div className="actions">{props.actions}</div> : null}
    </header>
  );
}

/** What to do when there is nothing to show yet. */
export function EmptyState(props: { title: string; children?: ReactNode }) {
  return (
    <div className="empty" role="status">
      <strong>{props.title}</strong>
      {props.children ? <div>{props.children}</div> : null}
    </div>
  );
}

/** An error in words a user can act on; a missing route means this server does not offer the feature yet. */
export function ErrorState(props: { error: unknown; what?: string }) {
  const e = props.error;
  if (e instanceof ApiError) {
    if (e.missingRoute)
      return (
        <div className="notice" role="status">
          <strong>Not available on this server yet: {props.what ?? 'this part of Portcullis'}.</strong>{' '}
          <span className="muted">
            ({e.method} {e.path.split('?')[0]} has no handler: the server was built without it.)
          </span>
        </div>
      );
    if (e.status === 403)
      return (
        <div className="notice" role="alert">
          <strong>Your role may not see {props.what?.toLowerCase() ?? 'this'}.</strong> Ask an administrator.
        </div>
      );
    return (
      <div className="error" role="alert">
        <strong>Could not load {props.what?.toLowerCase() ?? 'this'}:</strong> {e.message}{' '}
        <span className="muted">({e.status ? `HTTP ${e.status}` : e.code})</span>
      </div>
    );
  }
  return (
    <div className="error" role="alert">
      <strong>Something went wrong:</strong> {String((e as Error)?.message ?? e)}
    </div>
  );
}

export function Loading(props: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      {props.label ?? 'Loading…'}
    </div>
  );
}

const TONES: Record<string, string> = {
  new: 'warn',
  unapproved: 'bad',
  approved: 'good',
  gone: 'muted',
  high: 'bad',
  critical: 'bad',
  medium: 'warn',
  low: 'info',
  open: 'warn',
  closed: 'muted',
  resolved: 'good',
  success: 'good',
  succeeded: 'good',
  completed: 'good',
  done: 'good',
  failed: 'bad',
  error: 'bad',
  running: 'info',
  pending: 'warn',
  waiting: 'warn',
  queued: 'info',
  cancelled: 'muted',
  canceled: 'muted',
  expired: 'muted',
  strong: 'good',
  weak: 'muted',
  answered: 'good',
};

export function Badge(props: { value: string | null | undefined; label?: string }) {
  const v = props.value ?? '—';
  return <span className={`badge tone-${TONES[v.toLowerCase()] ?? 'plain'}`}>{props.label ?? v}</span>;
}

export interface Column<T> {
  key: string;
  label: string;
  render: (row: T) => ReactNode;
  sortable?: boolean;
  className?: string;
}

/**
 * A table whose rows are keyboard-navigable: Up/Down move between rows, Enter opens the row.
 * Sorting is the caller's (server-side): headers call onSort.
 */
export function DataTable<T>(props: {
  label: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  rowHref?: (row: T) => string;
  sort?: { key: string; order: 'asc' | 'desc' };
  onSort?: (key: string) => void;
  selection?: { selected: Set<string>; toggle: (key: string) => void; toggleAll: () => void };
}) {
  const { columns, rows, rowKey, rowHref, sort, onSort, selection } = props;
  const allSelected =
    selection !== undefined && rows.length > 0 && rows.every((r) => selection.selected.has(rowKey(r)));
  const onKeyDown = (e: KeyboardEvent<HTMLTableRowElement>, row: T) => {
    const tr = e.currentTarget;
    if (e.key === 'ArrowDown') {
      (tr.nextElementSibling as HTMLElement | null)?.focus();
      e.preventDefault();
    } else if (e.key === 'ArrowUp') {
      (tr.previousElementSibling as HTMLElement | null)?.focus();
      e.preventDefault();
    } else if (e.key === 'Enter' && rowHref && e.target === tr) {
      navigate(rowHref(row));
    } else if (e.key === ' ' && selection && e.target === tr) {
      selection.toggle(rowKey(row));
      e.preventDefault();
    }
  };
  return (
    <div className="table-wrap">
      <table aria-label={props.label}>
        <thead>
          <tr>
            {selection ? (
              <th className="check">
                <input
                  type="checkbox"
                  aria-label="Select all rows on this page"
                  checked={allSelected}
                  onChange={selection.toggleAll}
                />
              </th>
            ) : null}
            {columns.map((c) => {
              const active = sort?.key === c.key;
              return (
                <th
                  key={c.key}
                  className={c.className}
                  aria-sort={active ? (sort!.order === 'asc' ? 'ascending' : 'descending') : undefined}
                  scope="col"
                >
                  {c.sortable && onSort ? (
                    <button type="button" className="sort" onClick={() => onSort(c.key)}>
                      {c.label}
                      <span aria-hidden="true">{active ? (sort!.order === 'asc' ? ' ▲' : ' ▼') : ''}</span>
                    </button>
                  ) : (
                    c.label
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const k = rowKey(row);
            return (
              <tr
                key={k}
                tabIndex={0}
                onKeyDown={(e) => onKeyDown(e, row)}
                onClick={(e) => {
                  if (!rowHref) return;
                  const t = e.target as HTMLElement;
                  if (t.closest('a,button,input,label,select,textarea')) return;
                  navigate(rowHref(row));
                }}
                className={rowHref ? 'clickable' : undefined}
                aria-selected={selection ? selection.selected.has(k) : undefined}
              >
                {selection ? (
                  <td className="check">
                    <input
                      type="checkbox"
                      aria-label={`Select ${k}`}
                      checked={selection.selected.has(k)}
                      onChange={() => selection.toggle(k)}
                    />
                  </td>
                ) : null}
                {columns.map((c) => (
                  <td key={c.key} className={c.className}>
                    {c.render(row)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function Pager(props: { page: number; pageSize: number; count: number; onPage: (p: number) => void }) {
  const pages = Math.max(1, Math.ceil(props.count / props.pageSize));
  const from = props.count === 0 ? 0 : props.page * props.pageSize + 1;
  const to = Math.min(props.count, (props.page + 1) * props.pageSize);
  return (
    <nav className="pager" aria-label="Pages">
      <span className="muted">
        {from.toLocaleString()}–{to.toLocaleString()} of {props.count.toLocaleString()}
      </span>
      <button
        type="button"
        onClick={() => props.onPage(0)}
        disabled={props.page === 0}
        aria-label="First page"
      >
        «
      </button>
      <button type="button" onClick={() => props.onPage(props.page - 1)} disabled={props.page === 0}>
        Previous
      </button>
      <span aria-current="page">
        Page {props.page + 1} of {pages.toLocaleString()}
      </span>
      <button type="button" onClick={() => props.onPage(props.page + 1)} disabled={props.page + 1 >= pages}>
        Next
      </button>
    </nav>
  );
}

/** A modal dialog (native <dialog>: focus trap and Escape come with it). */
export function Dialog(props: { open: boolean; title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} aria-labelledby={id} onClose={props.onClose} onCancel={props.onClose}>
      <header>
        <h2 id={id}>{props.title}</h2>
        <button type="button" className="icon" aria-label="Close" onClick={props.onClose}>
          ×
        </button>
      </header>
      {props.open ? props.children : null}
    </dialog>
  );
}

/** A labelled form field. */
export function Field(props: { label: string; hint?: ReactNode; children: ReactNode }) {
  return (
    <label className="field">
      <span className="field-label">{props.label}</span>
      {props.children}
      {props.hint ? <span className="hint">{props.hint}</span> : null}
    </label>
  );
}

export function Card(props: { title: string; children: ReactNode; actions?: ReactNode; className?: string }) {
  const id = useId();
  return (
    <section className={`card ${props.className ?? ''}`} aria-labelledby={id}>
      <header>
        <h2 id={id}>{props.title}</h2>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

/** Shows a server error from an action (form submit) inline. */
export function ActionError(props: { error: unknown }) {
  if (!props.error) return null;
  const e = props.error as Error;
  return (
    <p className="error" role="alert">
      {e instanceof ApiError && e.missingRoute ? 'This server does not offer this action yet.' : e.message}
    </p>
  );
}
