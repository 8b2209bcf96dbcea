import { EventEmitter } from 'node:events';

/** One live update pushed to browsers over `GET /api/events`. */
export interface LiveEvent {
  /** Increasing number within this process; browsers send it back as `Last-Event-ID`. */
  readonly id: number;
  /** What happened, e.g. `container_created`, `scan_progress`, `playbook_run_updated`. */
  readonly type: string;
  /** When it was published (ISO-8601 UTC). */
  readonly at: string;
  readonly payload: Record<string, unknown>;
}

/** Event types the web UI reacts to; other types are delivered too. */
export const KNOWN_EVENT_TYPES = [
  'container_created',
  'container_updated',
  'artifact_added',
  'note_added',
  'service_new',
  'service_updated',
  'import_finished',
  'scan_progress',
  'scan_finished',
  'playbook_run_updated',
  'action_run_updated',
  'prompt_created',
  'prompt_answered',
] as const;

const RECENT_LIMIT = 200;
const TYPE_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;

/**
 * The in-process event bus: any area publishes, every open `/api/events` stream receives. Keeps the
 * last events so a browser that reconnects with `Last-Event-ID` misses nothing short.
 */
export class EventBus {
  readonly #emitter = new EventEmitter();
  readonly #recent: LiveEvent[] = [];
  #next = 1;

  constructor() {
    // One listener per open browser tab; no leak warning for a busy console.
    this.#emitter.setMaxListeners(0);
  }

  /** Publishes an event; returns it, numbered. Invalid types are a programming error. */
  publish(type: string, payload: Record<string, unknown> = {}): LiveEvent {
    if (!TYPE_PATTERN.test(type)) throw new TypeError(`invalid live event type ${JSON.stringify(type)}`);
    const event: LiveEvent = { id: this.#next++, type, at: new Date().toISOString(), payload };
    this.#recent.push(event);
    if (this.#recent.length > RECENT_LIMIT) this.#recent.shift();
    this.#emitter.emit('event', event);
    return event;
  }

  /** Calls `fn` for every event from now on; returns the unsubscribe function. */
  subscribe(fn: (event: LiveEvent) => void): () => void {
    this.#emitter.on('event', fn);
    return () => this.#emitter.off('event', fn);
  }

  /** Events published after `id` that are still remembered, oldest first. */
  since(id: number): LiveEvent[] {
    return this.#recent.filter((e) => e.id > id);
  }

  /** Number of open subscriptions (open browser streams and in-process listeners). */
  get subscriberCount(): number {
    return this.#emitter.listenerCount('event');
  }
}

/** The process's bus: `publishEvent` writes here and `/api/events` reads from it. */
export const eventBus = new EventBus();

/**
 * Pushes a live update to every signed-in browser (new containers, run and scan progress…).
 * Payloads must be small JSON objects without secrets: every signed-in user receives them.
 */
export function publishEvent(type: string, payload: Record<string, unknown> = {}): LiveEvent {
  return eventBus.publish(type, payload);
}
