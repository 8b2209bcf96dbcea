import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AppContext } from '../api/context.ts';
import { createLogger } from '../logging/index.ts';
import { EventBus, eventBus, publishEvent } from './event-bus.ts';
import { registerWebRoutes } from './web.routes.ts';

// These tests exercise the web routes alone on a bare Fastify app (no store, no auth hook): the
// real server with authentication is covered by the browser end-to-end test.
const ctx = { logger: createLogger('silent') } as unknown as AppContext;

function makeDist(): string {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-web-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><html><head><script type="module" src="/assets/app-1.js"></script></head><body><div id="root"></div></body></html>',
  );
  writeFileSync(join(dir, 'assets', 'app-1.js'), 'console.log("app")');
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dir, '.secret'), 'hidden');
  return dir;
}

describe('web console routes', () => {
  let app: FastifyInstance;
  let dist: string;
  before(async () => {
    dist = makeDist();
    app = Fastify();
    await registerWebRoutes(app, ctx, { distDir: dist, liveWatch: false });
    await app.ready();
  });
  after(async () => {
    await app.close();
    rmSync(dist, { recursive: true, force: true });
  });

  it('serves the app with its script at /', async () => {
    const res = await app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /text\/html/);
    assert.match(res.body, /<script type="module" src="\/assets\/app-1.js">/);
    assert.equal(res.headers['cache-control'], 'no-cache');
  });

  it('answers deep links with the app so the browser router handles them', async () => {
    for (const url of ['/containers/42', '/hosts/198.18.0.2?x=1', '/inventory']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.match(res.body, /id="root"/, url);
    }
  });

  it('serves hashed assets as immutable and other files briefly cached', async () => {
    const js = await app.inject({ method: 'GET', url: '/assets/app-1.js' });
    assert.equal(js.statusCode, 200);
    assert.equal(js.body, 'console.log("app")');
    assert.match(js.headers['cache-control'] as string, /immutable/);
    const icon = await app.inject({ method: 'GET', url: '/favicon.svg' });
    assert.equal(icon.statusCode, 200);
    assert.match(icon.headers['cache-control'] as string, /max-age=300/);
  });

  it('gives a 404 for a missing asset instead of the app', async () => {
    const res = await app.inject({ method: 'GET', url: '/assets/old-bundle.js' });
    assert.equal(res.statusCode, 404);
  });

  it('never answers API paths with HTML', async () => {
    for (const url of ['/api/nothing', '/rest/nothing', '/services/collector/nothing']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json().failed, true, url);
    }
  });

  it('refuses dot files and paths outside the build', async () => {
    assert.ok(!(await app.inject({ method: 'GET', url: '/.secret' })).body.includes('hidden'));
    for (const url of ['/../package.json', '/assets/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json']) {
      const res = await app.inject({ method: 'GET', url });
      assert.ok(!res.body.includes('"name": "portcullis"'), url);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/%E0%A4%A' })).statusCode, 400);
  });
});

describe('web console without a build', () => {
  it('explains how to build the app', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-web-empty-'));
    const app = Fastify();
    await registerWebRoutes(app, ctx, { distDir: join(dir, 'missing'), liveWatch: false });
    const res = await app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /npm run build:web/);
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('live events over /api/events', () => {
  it('streams published events and replays missed ones after Last-Event-ID', async () => {
    const dist = makeDist();
    const app = Fastify();
    await registerWebRoutes(app, ctx, { distDir: dist, liveWatch: false });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const before = publishEvent('scan_progress', { scan_id: 7, done: 10, total: 100 });
      const ctl = new AbortController();
      const res = await fetch(`${address}/api/events`, {
        headers: { 'last-event-id': String(before.id - 1) },
        signal: ctl.signal,
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      const readUntil = async (pattern: RegExp) => {
        while (!pattern.test(text)) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`stream ended before ${pattern}: ${text}`);
          text += value;
        }
      };
      await readUntil(/event: scan_progress/);
      assert.match(
        text,
        new RegExp(
          `id: ${before.id}\\nevent: scan_progress\\ndata: \\{"type":"scan_progress","at":"[^"]+","scan_id":7,"done":10,"total":100\\}`,
        ),
      );
      const later = publishEvent('container_created', { container_id: 42 });
      await readUntil(/event: container_created/);
      assert.match(
        text,
        new RegExp(`id: ${later.id}\\nevent: container_created\\ndata: \\{[^\\n]*"container_id":42`),
      );
      ctl.abort();
    } finally {
      await app.close();
      rmSync(dist, { recursive: true, force: true });
    }
    assert.equal(eventBus.subscriberCount, 0, 'closing the server ends every stream');
  });

  it('ends open streams when the server closes', async () => {
    const dist = makeDist();
    const app = Fastify();
    await registerWebRoutes(app, ctx, { distDir: dist, liveWatch: false });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const res = await fetch(`${address}/api/events`);
    const reader = res.body!.getReader();
    await reader.read();
    await app.close();
    let done = false;
    while (!done) done = (await reader.read()).done;
    rmSync(dist, { recursive: true, force: true });
  });
});

describe('event bus', () => {
  it('numbers events, keeps a bounded history and rejects bad types', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    const off = bus.subscribe((e) => seen.push(`${e.id}:${e.type}`));
    for (let i = 0; i < 250; i++) bus.publish('scan_progress', { i });
    off();
    bus.publish('scan_finished');
    assert.equal(seen.length, 250);
    assert.equal(seen[0], '1:scan_progress');
    assert.equal(bus.since(0).length, 200);
    assert.deepEqual(
      bus.since(249).map((e) => e.id),
      [250, 251],
    );
    assert.throws(() => bus.publish('Bad Type'), /invalid live event type/);
    assert.equal(bus.subscriberCount, 0);
  });
});
