import { Worker } from 'node:worker_threads';

/**
 * UDP sockets read on a worker thread. Exporters send their flows in bursts (every flow that
 * expires at once), and the main thread may be busy for a while (decoding, an embedded-database
 * write): the kernel drops datagrams once a socket's buffer is full. The worker does nothing but
 * drain the sockets into memory and hand the datagrams over in batches, so the buffer empties even
 * while the main thread works. What it holds is bounded (`maxHeldBytes`); beyond that it drops and
 * counts.
 */

/** One received datagram. */
export interface ReceivedDatagram {
  data: Buffer;
  address: string;
  port: number;
}

export interface ReceiverOptions {
  host: string;
  /** Ports to bind by name; 0 lets the system choose. */
  ports: Record<string, number>;
  /** Bytes handed over and not yet processed, at most. Default 64 MiB. */
  maxHeldBytes?: number;
  /** Socket receive buffer asked of the kernel (capped by net.core.rmem_max). Default 4 MiB. */
  recvBufferSize?: number;
}

export interface RunningReceiver {
  /** The bound port of each name. */
  readonly ports: Record<string, number>;
  /** Datagrams dropped because the main thread fell too far behind. */
  readonly dropped: () => number;
  close(): Promise<void>;
}

// Plain JavaScript run by the worker (no loader needed): bind, drain, batch, hand over.
const WORKER_SOURCE = `
const dgram = require('node:dgram');
const { isIPv6 } = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const { host, ports, maxHeldBytes, recvBufferSize } = workerData;
const sockets = [];
let batch = [];
let held = 0;
let dropped = 0;
function handOver() {
  if (batch.length === 0) return;
  parentPort.postMessage({ kind: 'datagrams', items: batch, dropped });
  batch = [];
}
parentPort.on('message', (m) => {
  if (m.kind === 'done') held -= m.bytes;
  else if (m.kind === 'close') {
    let open = sockets.length;
    const finish = () => { handOver(); parentPort.postMessage({ kind: 'closed', dropped }); process.exit(0); };
    if (open === 0) finish();
    for (const s of sockets) s.close(() => { if (--open === 0) finish(); });
  }
});
(async () => {
  const bound = {};
  for (const [name, port] of Object.entries(ports)) {
    const s = dgram.createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', recvBufferSize });
    sockets.push(s);
    s.on('message', (data, rinfo) => {
      if (held + data.length > maxHeldBytes) { dropped++; return; }
      held += data.length;
      batch.push({ data, address: rinfo.address, port: rinfo.port });
      if (batch.length >= 256) handOver();
    });
    await new Promise((resolve, reject) => {
      s.once('error', reject);
      s.bind(port, host, () => { s.off('error', reject); resolve(); });
    });
    s.on('error', (e) => parentPort.postMessage({ kind: 'error', message: e.message }));
    bound[name] = s.address().port;
  }
  setInterval(handOver, 20);
  parentPort.postMessage({ kind: 'bound', ports: bound });
})().catch((e) => {
  for (const s of sockets) try { s.close(); } catch {}
  parentPort.postMessage({ kind: 'failed', message: e.message, code: e.code });
});
`;

type WorkerMessage =
  | { kind: 'bound'; ports: Record<string, number> }
  | { kind: 'failed'; message: string; code?: string }
  | { kind: 'error'; message: string }
  | { kind: 'datagrams'; items: Array<{ data: Uint8Array; address: string; port: number }>; dropped: number }
  | { kind: 'closed'; dropped: number };

/**
 * Binds `opts.ports` on a worker thread and calls `onDatagrams` on the main thread with each batch
 * received. Rejects when a port cannot be bound (e.g. EADDRINUSE, EACCES).
 */
export function startUdpReceiver(
  opts: ReceiverOptions,
  onDatagrams: (batch: ReceivedDatagram[]) => void,
  onError: (message: string) => void,
): Promise<RunningReceiver> {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      host: opts.host,
      ports: opts.ports,
      maxHeldBytes: opts.maxHeldBytes ?? 64 * 1024 * 1024,
      recvBufferSize: opts.recvBufferSize ?? 4 * 1024 * 1024,
    },
  });
  let dropped = 0;
  let closed: (() => void) | null = null;
  return new Promise((resolve, reject) => {
    worker.on('error', (e) => {
      onError(e.message);
      reject(e);
    });
    worker.on('message', (m: WorkerMessage) => {
      switch (m.kind) {
        case 'bound':
          resolve({
            ports: m.ports,
            dropped: () => dropped,
            close: () =>
              new Promise<void>((done) => {
                closed = done;
                worker.postMessage({ kind: 'close' });
              }),
          });
          return;
        case 'failed':
          void worker.terminate();
          reject(Object.assign(new Error(m.message), { code: m.code }));
          return;
        case 'error':
          onError(m.message);
          return;
        case 'datagrams': {
          dropped = m.dropped;
          let bytes = 0;
          const batch = m.items.map((i) => {
            bytes += i.data.length;
            return {
              data: Buffer.from(i.data.buffer, i.data.byteOffset, i.data.length),
              address: i.address,
              port: i.port,
            };
          });
          try {
            onDatagrams(batch);
          } finally {
            worker.postMessage({ kind: 'done', bytes });
          }
          return;
        }
        case 'closed':
          dropped = m.dropped;
          closed?.();
          return;
      }
    });
  });
}
