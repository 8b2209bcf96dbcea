import { useState, type FormEvent } from 'react';
import { approveServices } from '../api/endpoints.ts';
import type { Service } from '../api/types.ts';
import { endpoint } from './format.ts';
import { ActionError, Dialog, Field } from './ui.tsx';

/** Approve one or many services into the baseline: a business justification and an optional expiry. */
export function ApproveDialog(props: {
  services: Service[];
  open: boolean;
  onClose: () => void;
  onDone: (n: number) => void;
}) {
  const [justification, setJustification] = useState('');
  const [expires, setExpires] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const n = props.services.length;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await approveServices(
        props.services,
        justification.trim(),
        expires ? new Date(`${expires}T23:59:59`).toISOString() : null,
      );
      setJustification('');
      setExpires('');
      props.onDone(n);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      open={props.open}
      title={
        n === 1
          ? `Approve ${endpoint(props.services[0]!.host, props.services[0]!.port, props.services[0]!.protocol)}`
          : `Approve ${n} services`
      }
      onClose={props.onClose}
    >
      <form onSubmit={submit}>
        {n > 1 ? (
          <p className="muted small">
            {props.services
              .slice(0, 6)
              .map((s) => endpoint(s.host, s.port, s.protocol))
              .join(', ')}
            {n > 6 ? ` and ${n - 6} more` : ''}
          </p>
        ) : null}
        <Field
          label="Business justification"
          hint="Why this port may listen: auditors read this (PCI DSS 1.2.5)."
        >
          <textarea
            name="justification"
            required
            minLength={3}
            value={justification}
            onChange={(e) => setJustification(e.target.value)}
            autoFocus
          />
        </Field>
        <Field label="Approval expires" hint="Optional. After this date the service needs a new decision.">
          <input
            type="date"
            name="expires"
            value={expires}
            min={new Date().toISOString().slice(0, 10)}
            onChange={(e) => setExpires(e.target.value)}
          />
        </Field>
        <ActionError error={error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy || justification.trim().length < 3}>
            {busy ? 'Approving…' : n === 1 ? 'Approve' : `Approve ${n}`}
          </button>
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
