import ipaddr from 'ipaddr.js';
import { BaselineWriter, type BaselineContext } from '../../baseline/index.ts';
import type { Config } from '../../config/index.ts';
import { AppError } from '../../util/errors.ts';
import type { Observation, ParseIssue } from '../observation.ts';
import { ListenerInference } from './listener.inference.ts';
import { NetflowDecoder, type DecodeSink } from './netflow.decoder.ts';
import { startUdpReceiver } from './udp-receiver.ts';

/** Where and how the flow collector listens. */
export interface CollectorOptions {
  /** Address the UDP sockets bind to. */
  host: string;
  /** NetFlow v5/v9 port (any version is read on either port); unset: none. */
  netflowPort?: number | undefined;
  /** IPFIX port; unset: none. */
  ipfixPort?: number | undefined;
  /** Exporters allowed to send (addresses or CIDR ranges); empty: any. */
  exporters?: readonly string[];
  /** How often flows are judged and observations written, in ms. Default 2000. */
  flushMs?: number;
  /** Most observations queued between two writes; more are dropped and counted. Default 200,000. */
  maxQueued?: number;
}

/** Counters of a running collector (also logged when it stops). */
export interface CollectorStats {
  datagrams: number;
  flows: number;
  /** Datagrams from exporters outside the allow-list. */
  refused: number;
  /** Problems found in datagrams (truncated, unknown version, bad templates…). */
  issues: number;
  observations: number;
  /** Datagrams or observations dropped because processing fell behind. */
  dropped: number;
  new_services: number;
  containers: number;
}

/** A started collector: its bound ports and its stop. */
export interface RunningCollector {
  readonly ports: { netflow?: number; ipfix?: number };
  readonly stats: CollectorStats;
  /** Judges what is pending, writes it, and closes the sockets. */
  stop(): Promise<void>;
  /** Writes what is pending now (tests, shutdown). */
  flush(): Promise<void>;
}

const LOG_EVERY_MS = 60_000;

/** Parses the exporter allow-list; throws on an entry that is neither an address nor a CIDR. */
export function parseExporterList(entries: readonly string[]): Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> {
  return entries.map((e) => {
    const text = e.trim();
    if (text.includes('/')) return ipaddr.parseCIDR(text);
    const a = ipaddr.parse(text);
    return [a, a.kind() === 'ipv4' ? 32 : 128];
  });
}

function allowed(list: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>, address: string): boolean {
  if (list.length === 0) return true;
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // IPv4-mapped IPv6 senders (a `::` socket) are matched as IPv4.
    a = ipaddr.process(address);
  } catch {
    return false;
  }
  return list.some(([net, bits]) =>
    a.kind() === 'ipv4'
      ? net.kind() === 'ipv4' && (a as ipaddr.IPv4).match(net as ipaddr.IPv4, bits)
      : net.kind() === 'ipv6' && (a as ipaddr.IPv6).match(net as ipaddr.IPv6, bits),
  );
}

/**
 * Starts the NetFlow v5/v9 and IPFIX collector: UDP sockets on the configured ports, templates kept
 * per exporter (address and port) and source id / observation domain, flows paired and judged by
 * {@link ListenerInference}, and the observations (source `netflow`) written into the baseline every
 * `flushMs` through the same writer imports use, so first sightings raise containers like any source.
 * Hostile datagrams never stop it: they are counted and logged at most once a minute.
 */
export async function startFlowCollector(
  ctx: BaselineContext,
  opts: CollectorOptions,
): Promise<RunningCollector> {
  const allow = parseExporterList(opts.exporters ?? []);
  const decoder = new NetflowDecoder();
  const inference = new ListenerInference();
  const maxQueued = opts.maxQueued ?? 200_000;
  const stats: CollectorStats = {
    datagrams: 0,
    flows: 0,
    refused: 0,
    issues: 0,
    observations: 0,
    dropped: 0,
    new_services: 0,
    containers: 0,
  };
  let queue: Observation[] = [];
  const enqueue = (o: Observation) => {
    if (queue.length >= maxQueued) stats.dropped++;
    else queue.push(o);
  };
  // Rate-limited reporting of bad datagrams: the first at once, then a summary per minute.
  let lastLog = 0;
  let unlogged = 0;
  let lastIssue: (ParseIssue & { exporter: string }) | null = null;
  const logIssues = (force = false) => {
    if (!unlogged || !lastIssue) return;
    const now = Date.now();
    if (!force && now - lastLog < LOG_EVERY_MS) return;
    ctx.logger.warn(
      { count: unlogged, exporter: lastIssue.exporter, last: lastIssue.message },
      'flow collector: datagrams with problems (counted, the rest of each is kept)',
    );
    lastLog = now;
    unlogged = 0;
  };
  let exporter = '';
  const sink: DecodeSink = {
    flow: (f) => {
      stats.flows++;
      inference.push(f, enqueue);
    },
    issue: (i) => {
      stats.issues++;
      unlogged++;
      lastIssue = { ...i, exporter };
      logIssues();
    },
  };

  const onDatagram = (msg: Buffer, address: string, port: number) => {
    if (!allowed(allow, address)) {
      stats.refused++;
      return;
    }
    stats.datagrams++;
    exporter = `${address}:${port}`;
    try {
      decoder.decode(msg, { exporter, offset: 0 }, sink);
    } catch (e) {
      // The decoder does not throw on bad bytes; anything here is a bug, logged, never fatal.
      ctx.logger.error({ err: e, exporter }, 'flow collector: datagram decoding failed');
    }
  };
  const wanted: Record<string, number> = {};
  if (opts.netflowPort !== undefined) wanted.netflow = opts.netflowPort;
  if (opts.ipfixPort !== undefined) wanted.ipfix = opts.ipfixPort;
  const receiver = await startUdpReceiver(
    { host: opts.host, ports: wanted },
    (batch) => {
      for (const d of batch) onDatagram(d.data, d.address, d.port);
    },
    (message) => ctx.logger.error({ message }, 'flow collector socket error'),
  );
  const ports: { netflow?: number; ipfix?: number } = {
    ...(receiver.ports.netflow !== undefined ? { netflow: receiver.ports.netflow } : {}),
    ...(receiver.ports.ipfix !== undefined ? { ipfix: receiver.ports.ipfix } : {}),
  };

  let writing: Promise<void> = Promise.resolve();
  const write = async () => {
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    // A writer per batch: its clock and learning decision are those of this write.
    const writer = new BaselineWriter(ctx);
    await writer.start();
    for (const o of batch) {
      writer.push(o);
      if (writer.full) await writer.flush();
    }
    await writer.flush();
    stats.observations += writer.summary.observations;
    stats.new_services += writer.summary.new_services;
    stats.containers += writer.summary.containers;
    for (const err of writer.summary.errors)
      ctx.logger.warn({ err }, 'flow collector: baseline write problem');
  };
  const flush = (final = false): Promise<void> => {
    if (final) inference.finish(enqueue);
    else inference.tick(enqueue);
    writing = writing.then(write).catch((err: unknown) => {
      ctx.logger.error({ err }, 'flow collector: writing observations failed');
    });
    return writing;
  };
  const timer = setInterval(() => {
    logIssues();
    void flush();
  }, opts.flushMs ?? 2000);
  timer.unref();

  ctx.logger.info({ host: opts.host, ...ports, exporters: opts.exporters ?? [] }, 'flow collector listening');
  let stopping: Promise<void> | undefined;
  return {
    ports,
    stats,
    flush: () => flush(),
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        await receiver.close();
        stats.dropped += receiver.dropped();
        await flush(true);
        logIssues(true);
        ctx.logger.info({ ...stats }, 'flow collector stopped');
      })();
      return stopping;
    },
  };
}

/** What {@link startConfiguredFlowCollector} needs of the application context. */
export interface CollectorContext extends BaselineContext {
  readonly config: Pick<
    Config,
    'goneAfter' | 'netflowPort' | 'ipfixPort' | 'netflowHost' | 'netflowExporters'
  >;
  onShutdown(fn: () => Promise<void> | void): void;
}

/**
 * Starts the flow collector of `portcullis serve` when `PORTCULLIS_NETFLOW_PORT` or
 * `PORTCULLIS_IPFIX_PORT` is set (nothing otherwise), and stops it on shutdown.
 */
export async function startConfiguredFlowCollector(ctx: CollectorContext): Promise<RunningCollector | null> {
  const { netflowPort, ipfixPort, netflowHost, netflowExporters } = ctx.config;
  if (netflowPort === undefined && ipfixPort === undefined) return null;
  let collector: RunningCollector;
  try {
    collector = await startFlowCollector(ctx, {
      host: netflowHost,
      netflowPort,
      // Either socket reads every version: one port named twice is bound once.
      ipfixPort: ipfixPort === netflowPort ? undefined : ipfixPort,
      exporters: netflowExporters,
    });
  } catch (e) {
    throw new AppError(
      'collector_bind_failed',
      `cannot listen for flows on ${netflowHost} (PORTCULLIS_NETFLOW_HOST) UDP ${[netflowPort, ipfixPort].filter((p) => p !== undefined).join(', ')} (PORTCULLIS_NETFLOW_PORT, PORTCULLIS_IPFIX_PORT): ${(e as Error).message}`,
      { kind: 'operational' },
    );
  }
  ctx.onShutdown(() => collector.stop());
  return collector;
}
