export { registerWebRoutes, API_PREFIXES, DEFAULT_DIST_DIR, type WebRoutesOptions } from './web.routes.ts';
export { publishEvent, eventBus, EventBus, KNOWN_EVENT_TYPES, type LiveEvent } from './event-bus.ts';
export { ensureWebBuild } from './build.ts';
export { startLiveWatch } from './live-watch.ts';
