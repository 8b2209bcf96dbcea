// @ts-check
// The hot loop of the TCP connect scan, run in worker threads (one per core) so the kernel work of many
// connects spreads over all cores. It is plain JavaScript on purpose: a worker starts without the
// TypeScript loader, in a few milliseconds. Each job runs on one of two engines:
// - `native`: the probe loop in C (native/connect_scan.c, built at install), called synchronously here;
//   it blocks this thread until the job ends, so progress and cancel go through the job's shared
//   `control` array instead of messages.
// - `js`: libuv's TCP handle driven directly (one handle and one connect request per probe, no stream
//   machinery), for machines where the native engine could not be built.
// Messages follow the types in ./connect-scan.ts.
import { parentPort } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { performance } from 'node:perf_hooks';

// @ts-expect-error process.binding is typed as deprecated and unknown
const tcpWrap = /** @type {any} */ (process.binding('tcp_wrap'));
const { TCP, TCPConnectWrap, constants: tcpConstants } = tcpWrap;
const E = osConstants.errno;

const STATE_OPEN = 1;
const STATE_CLOSED = 2;
const STATE_FILTERED = 3;

// Reason codes (see REASONS in connect-scan.ts).
const R_SYN_ACK = 1;
const R_CONN_REFUSED = 2;
const R_NO_RESPONSE = 3;
const R_HOST_UNREACH = 4;
const R_NET_UNREACH = 5;
const R_ADMIN_PROHIBITED = 6;
const R_ERROR = 7;

/** The native engine's module, loaded on first use; null when it is not built or does not load. */
let nativeEngine;
function loadNative() {
  if (nativeEngine === undefined) {
    try {
      nativeEngine = createRequire(import.meta.url)('../../../build/Release/portcullis_scan.node');
    } catch {
      nativeEngine = null;
    }
  }
  return nativeEngine;
}

const port = parentPort;
if (!port) throw new Error('probe.worker.js runs only as a worker thread');

/**
 * @typedef {{ id: number, hosts: string[], families: Uint8Array, hostIdx: Uint32Array, ports: Uint16Array,
 *   concurrency: number, rate: number, timeoutMs: number, minTimeoutMs: number, retries: number,
 *   control: Int32Array, engine: 'native' | 'js' }} JobRequest
 */

class Job {
  /** @param {JobRequest} req */
  constructor(req) {
    this.req = req;
    const n = req.ports.length;
    this.state = new Uint8Array(n);
    this.reason = new Uint8Array(n);
    this.rtt = new Float32Array(n);
    this.tries = new Uint8Array(n);
    // Pending probe indices (first tries, then retries appended); qHead is the next to launch.
    /** @type {number[]} */
    this.queue = new Array(n);
    for (let i = 0; i < n; i++) this.queue[i] = i;
    this.qHead = 0;
    this.done = 0;
    this.inflight = 0;
    this.cap = req.concurrency;
    this.pausedUntil = 0;
    this.cancelled = false;
    this.finished = false;
    /** @type {Set<Probe>} */
    this.active = new Set();
    const h = req.hosts.length;
    this.srtt = new Float64Array(h).fill(-1);
    this.rttvar = new Float64Array(h);
    this.tokens = req.rate > 0 ? Math.min(req.rate, 1) : Infinity;
    this.lastRefill = performance.now();
    this.timer = setInterval(() => this.tick(), 20);
  }

  /** Timeout of a probe to host h: RTT-adaptive like nmap's (srtt + 4 rttvar), clamped. */
  timeoutFor(h, attempt) {
    const { timeoutMs, minTimeoutMs } = this.req;
    const s = this.srtt[h];
    let t =
      s === undefined || s < 0
        ? timeoutMs
        : Math.min(timeoutMs, Math.max(minTimeoutMs, s + 4 * (this.rttvar[h] ?? 0)));
    // Each retry waits longer, as nmap does after drops.
    return Math.min(timeoutMs * 2, t * (1 + attempt));
  }

  sample(h, rtt) {
    const s = this.srtt[h] ?? -1;
    if (s < 0) {
      this.srtt[h] = rtt;
      this.rttvar[h] = rtt / 2;
    } else {
      const err = rtt - s;
      this.srtt[h] = s + err / 8;
      this.rttvar[h] = (this.rttvar[h] ?? 0) + (Math.abs(err) - (this.rttvar[h] ?? 0)) / 4;
    }
  }

  launch() {
    const req = this.req;
    const now = performance.now();
    if (now < this.pausedUntil) return;
    if (this.tokens !== Infinity) {
      this.tokens = Math.min(
        Math.max(1, req.rate / 20),
        this.tokens + ((now - this.lastRefill) * req.rate) / 1000,
      );
      this.lastRefill = now;
    }
    while (
      !this.cancelled &&
      this.inflight < this.cap &&
      this.qHead < this.queue.length &&
      this.tokens >= 1
    ) {
      const i = /** @type {number} */ (this.queue[this.qHead++]);
      const h = /** @type {number} */ (req.hostIdx[i]);
      const handle = new TCP(tcpConstants.SOCKET);
      const creq = new TCPConnectWrap();
      const probe = new Probe(this, i, handle, now + this.timeoutFor(h, this.tries[i] ?? 0));
      creq.oncomplete = (/** @type {number} */ status) => probe.complete(status);
      const host = /** @type {string} */ (req.hosts[h]);
      const err =
        req.families[h] === 6
          ? handle.connect6(creq, host, req.ports[i])
          : handle.connect(creq, host, req.ports[i]);
      if (err) {
        handle.close();
        if (this.resourceError(err)) {
          this.qHead--;
          this.queue[this.qHead] = i;
          return;
        }
        this.settle(i, STATE_FILTERED, reasonOf(err), 0);
        continue;
      }
      if (this.tokens !== Infinity) this.tokens -= 1;
      probe.start = now;
      this.inflight++;
      this.active.add(probe);
    }
    this.maybeFinish();
  }

  /** Out of descriptors, ports or buffers: shrink the window and pause briefly instead of failing. */
  resourceError(err) {
    if (
      err === -E.EMFILE ||
      err === -E.ENFILE ||
      err === -E.EADDRNOTAVAIL ||
      err === -E.ENOBUFS ||
      err === -E.EAGAIN
    ) {
      this.cap = Math.max(1, Math.floor(this.inflight * 0.8));
      this.pausedUntil = performance.now() + 50;
      if (!this.resourceWarned) {
        this.resourceWarned = true;
        port.postMessage({ type: 'backoff', id: this.req.id, errno: -err, inflight: this.inflight });
      }
      return true;
    }
    return false;
  }

  settle(i, state, reason, rtt) {
    this.state[i] = state;
    this.reason[i] = reason;
    this.rtt[i] = rtt;
    this.done++;
    Atomics.store(this.req.control, 0, this.done);
  }

  tick() {
    // Expire in the check phase, after the poll phase has delivered every connect that already
    // completed: a busy event loop must not turn a late-noticed answer into a timeout.
    setImmediate(() => {
      if (!this.cancelled && Atomics.load(this.req.control, 1) !== 0) this.cancel();
      const now = performance.now();
      for (const p of this.active) if (now >= p.deadline) p.expire();
      this.launch();
    });
  }

  cancel() {
    this.cancelled = true;
    for (const p of this.active) p.abandon();
    this.maybeFinish();
  }

  maybeFinish() {
    if (this.finished || this.inflight > 0) return;
    if (!this.cancelled && this.qHead < this.queue.length) return;
    this.finished = true;
    clearInterval(this.timer);
    postDone(this.req.id, 'js', this);
  }
}

class Probe {
  /**
   * @param {Job} job @param {number} index @param {any} handle @param {number} deadline
   */
  constructor(job, index, handle, deadline) {
    this.job = job;
    this.index = index;
    this.handle = handle;
    this.deadline = deadline;
    this.start = 0;
    this.over = false;
  }

  /** @param {number} status */
  complete(status) {
    if (this.over) return;
    const job = this.job;
    const self = status === 0 && this.selfConnected();
    this.end();
    const i = this.index;
    const rtt = performance.now() - this.start;
    if (self) {
      // Connected to itself (simultaneous open: the kernel picked the target port as the source port,
      // possible only when nothing listens there): try again, as nmap does.
      this.retryOrFilter();
      job.launch();
      return;
    }
    if (status === 0 || status === -E.ECONNREFUSED || status === -E.ECONNRESET) {
      job.sample(/** @type {number} */ (job.req.hostIdx[i]), rtt);
      if (status === 0) job.settle(i, STATE_OPEN, R_SYN_ACK, rtt);
      else job.settle(i, STATE_CLOSED, R_CONN_REFUSED, rtt);
    } else if (status === -E.ETIMEDOUT) {
      this.retryOrFilter();
    } else if (job.resourceError(status)) {
      job.queue.push(i);
    } else {
      job.settle(i, STATE_FILTERED, reasonOf(status), rtt);
    }
    if (job.cap < job.req.concurrency) job.cap++;
    job.launch();
  }

  expire() {
    if (this.over) return;
    this.end();
    this.retryOrFilter();
  }

  abandon() {
    if (this.over) return;
    this.end();
  }

  retryOrFilter() {
    const job = this.job;
    // A cancelled scan leaves a probe it did not finish unprobed rather than calling it filtered.
    if (job.cancelled) return;
    const i = this.index;
    const tries = (job.tries[i] ?? 0) + 1;
    job.tries[i] = tries;
    if (tries <= job.req.retries) job.queue.push(i);
    else job.settle(i, STATE_FILTERED, R_NO_RESPONSE, 0);
  }

  /** Whether the connection is to itself (same address and port at both ends); call before end(). */
  selfConnected() {
    const req = this.job.req;
    const out = /** @type {{ address?: string, port?: number }} */ ({});
    if (this.handle.getsockname(out) !== 0) return false;
    return (
      out.port === req.ports[this.index] &&
      out.address === req.hosts[/** @type {number} */ (req.hostIdx[this.index])]
    );
  }

  end() {
    this.over = true;
    this.job.inflight--;
    this.job.active.delete(this);
    this.handle.close();
  }
}

/** @param {number} err */
function reasonOf(err) {
  if (err === -E.EHOSTUNREACH) return R_HOST_UNREACH;
  if (err === -E.ENETUNREACH) return R_NET_UNREACH;
  if (err === -E.EACCES || err === -E.EPERM) return R_ADMIN_PROHIBITED;
  return R_ERROR;
}

/**
 * @param {number} id @param {'native' | 'js'} engine
 * @param {{ done: number, cancelled: boolean, state: Uint8Array, reason: Uint8Array, rtt: Float32Array }} out
 */
function postDone(id, engine, out) {
  port.postMessage(
    {
      type: 'done',
      id,
      engine,
      done: out.done,
      cancelled: out.cancelled,
      state: out.state,
      reason: out.reason,
      rtt: out.rtt,
    },
    [out.state.buffer, out.reason.buffer, out.rtt.buffer],
  );
}

/** Runs a job on the native engine, start to end, on this thread. @param {JobRequest} req */
function runNative(req) {
  const native = loadNative();
  if (!native)
    throw new Error('the native scan engine is not built here (npm ci builds it; needs g++ and make)');
  const n = req.ports.length;
  const out = { state: new Uint8Array(n), reason: new Uint8Array(n), rtt: new Float32Array(n) };
  const r = native.scan({ ...req, ...out });
  if (r.backoffErrno)
    port.postMessage({ type: 'backoff', id: req.id, errno: r.backoffErrno, inflight: req.concurrency });
  postDone(req.id, 'native', { ...out, done: r.done, cancelled: r.cancelled });
}

// Load the native engine now, while descriptors are surely free (it opens its epoll instance when it
// loads), then tell the pool this worker can take jobs.
loadNative();
port.postMessage({ type: 'ready', id: 0 });

port.on('message', (/** @type {any} */ msg) => {
  try {
    if (msg.type === 'scan') {
      if (msg.engine === 'native' || (msg.engine === 'auto' && loadNative())) runNative(msg);
      else new Job(msg).launch();
    }
  } catch (e) {
    port.postMessage({ type: 'failed', id: msg.id, message: e instanceof Error ? e.message : String(e) });
  }
});
