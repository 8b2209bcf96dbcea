import { authHeaders } from '../api/client.ts';

/** One server-sent event from `GET /api/events`. */
export interface LiveMessage {
  id: number;
  type: string;
  data: Record<string, unknown>;
}

export type LiveStatus = 'connecting' | 'live' | 'offline';

type Listener = (m: LiveMessage) => void;

const listeners = new Set<Listener>();
const statusListeners = new Set<(s: LiveStatus) => void>();
let status: LiveStatus = 'offline';
let controller: AbortController | null = null;
let lastId = 0;
let retryTimer: ReturnType<typeof setTimeout> | undefined;

function setStatus(s: LiveStatus) {
  status = s;
  for (const fn of statusListeners) fn(s);
}

export function liveStatus(): LiveStatus {
  return status;
}

export function onLiveStatus(fn: (s: LiveStatus) => void): () => void {
  statusListeners.add(fn);
  return () => statusListeners.delete(fn);
}

/** Receives every live event; returns the unsubscribe function. */
export function onLive(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function dispatch(block: string) {
  let id = 0;
  let type = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'id') id = Number(value);
    else if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return;
  if (id) lastId = id;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(data.join('\n')) as Record<string, unknown>;
  } catch {
    parsed = { text: data.join('\n') };
  }
  for (const fn of listeners) fn({ id, type, data: parsed });
}

/**
 * Opens the live stream. Uses fetch rather than EventSource so token sign-ins can send their header;
 * reconnects with Last-Event-ID so short outages lose nothing.
 */
export function connectLive(): void {
  disconnectLive();
  const ctl = new AbortController();
  controller = ctl;
  setStatus('connecting');
  void (async () => {
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders('GET') };
      if (lastId) headers['last-event-id'] = String(lastId);
      const res = await fetch('/api/events', { headers, credentials: 'same-origin', signal: ctl.signal });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      setStatus('live');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value.replace(/\r\n?/g, '\n');
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          dispatch(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
      }
      throw new Error('stream ended');
    } catch {
      if (ctl.signal.aborted) return;
      setStatus('offline');
      retryTimer = setTimeout(connectLive, 3000);
    }
  })();
}

export function disconnectLive(): void {
  clearTimeout(retryTimer);
  controller?.abort();
  controller = null;
  setStatus('offline');
}
