import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, get } from '../api/client.ts';
import { onLive, onLiveStatus, liveStatus, type LiveMessage, type LiveStatus } from './live.ts';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  reload: () => void;
}

const prefetched = new Map<string, { at: number; result: Promise<unknown> }>();

/**
 * Starts a GET before the page that needs it is rendered (at start-up, while the session is being
 * checked), so the two round trips overlap; `useApi` picks the answer up once.
 */
export function prefetch(path: string): void {
  const result = get<unknown>(path, { quiet401: true });
  result.catch(() => {});
  prefetched.set(path, { at: Date.now(), result });
}

function takePrefetched<T>(path: string): Promise<T> | undefined {
  const p = prefetched.get(path);
  prefetched.delete(path);
  return p && Date.now() - p.at < 10_000 ? (p.result as Promise<T>) : undefined;
}

/** GETs `path` (null = nothing yet) and re-fetches when it changes; keeps the previous data while loading. */
export function useApi<T>(path: string | null): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError | Error>();
  const [loading, setLoading] = useState(path !== null);
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    if (path === null) return;
    const ctl = new AbortController();
    setLoading(true);
    (takePrefetched<T>(path) ?? get<T>(path, { signal: ctl.signal }))
      .then((d) => {
        // A superseded request (the path changed or a reload started) must not overwrite newer data.
        if (ctl.signal.aborted) return;
        setData(d);
        setError(undefined);
      })
      .catch((e: unknown) => {
        if (ctl.signal.aborted || (e as Error).name === 'AbortError') return;
        setError(e as Error);
        setData(undefined);
      })
      .finally(() => {
        if (!ctl.signal.aborted) setLoading(false);
      });
    return () => ctl.abort();
  }, [path, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { data, error, loading, reload };
}

/** Calls `fn` for live events whose type is in `types` (all when empty). */
export function useLive(types: readonly string[], fn: (m: LiveMessage) => void): void {
  const ref = useRef(fn);
  ref.current = fn;
  const key = types.join(',');
  useEffect(() => {
    const wanted = new Set(key ? key.split(',') : []);
    return onLive((m) => {
      if (wanted.size === 0 || wanted.has(m.type)) ref.current(m);
    });
  }, [key]);
}

/** Reloads (at most every 750 ms) when one of the live event types arrives. */
export function useLiveReload(types: readonly string[], reload: () => void): void {
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useLive(types, () => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      reload();
    }, 750);
  });
  useEffect(() => () => clearTimeout(timer.current), []);
}

export function useLiveStatus(): LiveStatus {
  const [s, setS] = useState(liveStatus());
  useEffect(() => {
    const off = onLiveStatus(setS);
    return () => {
      off();
    };
  }, []);
  return s;
}

/** A value that follows `value` after `ms` without changes (search boxes). */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}
