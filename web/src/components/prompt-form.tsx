import { useState, type FormEvent } from 'react';
import { answerPrompt } from '../api/endpoints.ts';
import type { Prompt } from '../api/types.ts';
import { fmtAgo } from './format.ts';
import { ActionError, Field } from './ui.tsx';

/** A pending prompt: one control per question (choices as radio buttons, free text as a text area). */
export function PromptForm(props: { prompt: Prompt; onAnswered: () => void }) {
  const p = props.prompt;
  const [answers, setAnswers] = useState<string[]>(() => p.questions.map(() => ''));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const set = (i: number, v: string) => setAnswers((a) => a.map((x, j) => (j === i ? v : x)));
  const complete = p.questions.every((q, i) =>
    q.options.type === 'list' ? answers[i] !== '' : !q.options.required || answers[i]!.trim() !== '',
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await answerPrompt(p.id, answers);
      props.onAnswered();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="prompt" onSubmit={submit} aria-label={`Prompt: ${p.message || p.name}`}>
      <p>
        <strong>{p.message || p.name}</strong>{' '}
        <span className="muted small">
          {p.owner ? `for ${p.owner_type === 'Role' ? 'role ' : ''}${p.owner} · ` : ''}due{' '}
          {fmtAgo(p.due_time)} (then: {p.default_responses.filter(Boolean).join(', ') || 'no answer'})
        </span>
      </p>
      {p.questions.map((q, i) =>
        q.options.type === 'list' ? (
          <fieldset key={i} className="choices">
            <legend>{q.prompt}</legend>
            {q.options.choices.map((c) => (
              <label key={c} className="choice">
                <input
                  type="radio"
                  name={`q${p.id}-${i}`}
                  value={c}
                  checked={answers[i] === c}
                  onChange={() => set(i, c)}
                />{' '}
                {c}
              </label>
            ))}
          </fieldset>
        ) : (
          <Field key={i} label={q.prompt}>
            {/YYYY-MM-DD/.test(q.prompt) ? (
              <input
                type="date"
                name={`q${p.id}-${i}`}
                value={answers[i]}
                required={q.options.required}
                onChange={(e) => set(i, e.target.value)}
              />
            ) : (
              <textarea
                name={`q${p.id}-${i}`}
                value={answers[i]}
                required={q.options.required}
                onChange={(e) => set(i, e.target.value)}
              />
            )}
          </Field>
        ),
      )}
      <ActionError error={error} />
      <button type="submit" className="primary" disabled={busy || !complete}>
        {busy ? 'Sending…' : 'Answer'}
      </button>
    </form>
  );
}
