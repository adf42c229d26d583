import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { createSecureContext, type SecureContext } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';

import autocannon, { type AutocannonRequest } from 'autocannon';
import { Pool } from 'undici';

/** The client certificate, key and CA a load generator presents. */
export interface ClientTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

/** What one request carries; the body and its signature are made fresh per request. */
export interface BenchRequest {
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Latency percentiles in milliseconds. */
export interface Latency {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** One side's measurement. `rate` counts only 2xx answers per second. */
export interface LoadResult {
  readonly sent: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  /** Fixed-rate runs: requests still unanswered when the schedule ended (the server fell behind). */
  readonly backlogAtEnd?: number;
  readonly seconds: number;
  readonly rate: number;
  readonly latency: Latency;
  readonly statusCodes: Record<string, number>;
}

/** How to drive one side. */
export interface LoadOptions {
  readonly url: string;
  readonly tls: ClientTls;
  readonly connections: number;
  readonly seconds: number;
  /** Requests per second over all connections; unset means as fast as the server answers. */
  readonly overallRate?: number;
  readonly makeRequest: () => BenchRequest;
}

function readTls(tls: ClientTls): { cert: Buffer; key: Buffer; ca: Buffer } {
  return {
    cert: readFileSync(tls.certFile),
    key: readFileSync(tls.keyFile),
    ca: readFileSync(tls.caFile),
  };
}

/**
 * Kept-alive connections driven by autocannon, each request built by `makeRequest` (a fresh
 * delivery with its own signature), client certificate through autocannon's TLS options.
 */
export async function runKeptAlive(options: LoadOptions): Promise<LoadResult> {
  const path = new URL(options.url).pathname;
  const request: AutocannonRequest = {
    method: 'POST',
    path,
    setupRequest: (req) => {
      const next = options.makeRequest();
      return { ...req, method: 'POST', path, headers: next.headers, body: next.body };
    },
  };
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    overallRate: options.overallRate,
    timeout: 10,
    requests: [request],
    tlsOptions: readTls(options.tls),
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats)) statusCodes[code] = stat.count;
  const ok = result['2xx'];
  return {
    sent: result.requests.sent,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
    rate: ok / result.duration,
    latency: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.mean,
    },
    statusCodes,
  };
}

/** Percentiles of a list of latencies in milliseconds. */
export function summarize(latencies: number[]): Latency {
  if (latencies.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  const round = (value: number): number => Math.round(value * 100) / 100;
  return {
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    max: round(at(1)),
    mean: round(mean),
  };
}

/** Sends one request over its own new TLS connection and resolves with status and latency. */
export function sendOnce(
  url: string,
  tls: { cert?: Buffer; key?: Buffer; ca: Buffer } | { secureContext: SecureContext },
  req: BenchRequest,
): Promise<{ status: number; ms: number; body: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const outgoing = httpsRequest(
      url,
      {
        method: 'POST',
        agent: false,
        servername: 'localhost',
        ...tls,
        headers: { ...req.headers, 'content-length': String(req.body.length), connection: 'close' },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            ms: performance.now() - started,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('request timed out')));
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

/**
 * Every request on a NEW mTLS connection (full handshake, no session resumption), as a sender
 * that does not keep connections alive. autocannon 9 cannot do this: with `reconnectRate` it
 * drops the response that triggers the reconnect from its counts, so this loop uses node:https.
 */
export async function runFreshConnections(options: LoadOptions): Promise<LoadResult> {
  // one client context for all connections: what is measured is the handshake, not key loading
  const tls = { secureContext: createSecureContext(readTls(options.tls)) };
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let errors = 0;
  let sent = 0;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;

  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      sent += 1;
      try {
        const answer = await sendOnce(options.url, tls, options.makeRequest());
        statusCodes[answer.status] = (statusCodes[answer.status] ?? 0) + 1;
        if (answer.status >= 200 && answer.status < 300) latencies.push(answer.ms);
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, loop));

  const seconds = (performance.now() - started) / 1000;
  const ok = latencies.length;
  return {
    sent,
    ok,
    non2xx: sent - ok - errors,
    errors,
    timeouts: 0,
    seconds,
    rate: ok / seconds,
    latency: summarize(latencies),
    statusCodes,
  };
}

/**
 * Open-loop load at a fixed rate over `connections` kept-alive mTLS connections (undici Pool):
 * requests are sent on an even schedule, and latency counts from the moment a request was DUE,
 * so a stalled server is not hidden by a generator that waits for it (coordinated omission).
 * autocannon's rate limit sends each second's quota in a burst, which measures the burst instead.
 */
export async function runFixedRate(
  options: LoadOptions & { readonly overallRate: number },
): Promise<LoadResult> {
  const tls = readTls(options.tls);
  const target = new URL(options.url);
  const pool = new Pool(target.origin, {
    connections: options.connections,
    pipelining: 1,
    connect: { ...tls, rejectUnauthorized: true, servername: 'localhost' },
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  const inFlight = new Map<Promise<void>, number>();
  let errors = 0;
  let sent = 0;
  const interval = 1000 / options.overallRate;
  const started = performance.now();
  const total = Math.floor(options.seconds * options.overallRate);

  const fire = (due: number): void => {
    const next = options.makeRequest();
    sent += 1;
    const done = pool
      .request({ path: target.pathname, method: 'POST', headers: next.headers, body: next.body })
      .then(async (answer) => {
        await answer.body.dump();
        statusCodes[answer.statusCode] = (statusCodes[answer.statusCode] ?? 0) + 1;
        if (answer.statusCode >= 200 && answer.statusCode < 300) {
          latencies.push(performance.now() - due);
        }
      })
      .catch(() => {
        errors += 1;
      })
      .finally(() => inFlight.delete(done));
    inFlight.set(done, due);
  };

  let index = 0;
  while (index < total) {
    const now = performance.now();
    while (index < total && started + index * interval <= now) {
      fire(started + index * interval);
      index += 1;
    }
    await sleep(1);
  }
  // a server that cannot keep up would make the run last as long as its backlog: give it as long
  // again as the run, then count what is still unanswered as timeouts
  const backlog = inFlight.size;
  const grace = Math.max(5, options.seconds) * 1000;
  await Promise.race([Promise.all(inFlight.keys()), sleep(grace)]);
  const unanswered = inFlight.size;
  const failed = errors;
  const cutoff = performance.now();
  const seconds = (cutoff - started) / 1000;
  const ok = latencies.length;
  // an unanswered request waited at least until the cut-off: count that, or p99 would flatter
  for (const due of inFlight.values()) latencies.push(cutoff - due);
  await pool.destroy();

  const non2xx = Object.entries(statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .reduce((sum, [, count]) => sum + count, 0);
  return {
    sent,
    ok,
    non2xx,
    errors: failed,
    timeouts: unanswered,
    backlogAtEnd: backlog,
    seconds,
    rate: ok / seconds,
    latency: summarize(latencies),
    statusCodes,
  };
}
