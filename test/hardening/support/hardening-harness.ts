import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { DELIVERIES_QUEUE, QUARANTINE_QUEUE, queuePrefix } from '@countersign/queue';
import { loadListenerSettings } from '../../../apps/listener/src/config/listener-settings.js';
import { createListenerApp } from '../../../apps/listener/src/listener.app.js';
import type { ClientIdentity } from './hardening-pki.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key root no other test run uses. */
export function uniquePrefix(): string {
  return `cs-test-${randomBytes(6).toString('hex')}`;
}

/** Deletes the keys under `prefix` on one Redis (only those: never FLUSHDB). */
export async function deleteKeys(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Counts every job, whatever its state, in the deliveries and quarantine queues of a prefix. */
export class QueueProbe {
  private readonly deliveries: Queue;
  private readonly quarantine: Queue;

  constructor(
    readonly prefix: string,
    private readonly connection: Redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }),
  ) {
    this.deliveries = new Queue(DELIVERIES_QUEUE, {
      connection,
      prefix: queuePrefix(prefix, DELIVERIES_QUEUE),
    });
    this.quarantine = new Queue(QUARANTINE_QUEUE, {
      connection,
      prefix: queuePrefix(prefix, QUARANTINE_QUEUE),
    });
  }

  async deliveriesCount(): Promise<number> {
    return total(await this.deliveries.getJobCounts());
  }

  async quarantineCount(): Promise<number> {
    return total(await this.quarantine.getJobCounts());
  }

  async close(): Promise<void> {
    await this.deliveries.close();
    await this.quarantine.close();
    this.connection.disconnect();
  }
}

function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}

/** A listener running in this process on an ephemeral port. */
export interface InProcessListener {
  readonly app: NestExpressApplication;
  readonly port: number;
  readonly prefix: string;
  close(): Promise<void>;
}

/** Starts the listener in this process from a profiles object and environment overrides. */
export async function startInProcessListener(options: {
  dir: string;
  name: string;
  profiles: Record<string, unknown>;
  env: Record<string, string>;
  prefix?: string;
}): Promise<InProcessListener> {
  const prefix = options.prefix ?? uniquePrefix();
  const profilesFile = join(options.dir, `profiles-${options.name}.json`);
  await writeFile(profilesFile, JSON.stringify({ profiles: options.profiles }));

  const settings = loadListenerSettings({
    LISTENER_PROFILES_FILE: profilesFile,
    LISTENER_PAYLOAD_DIR: join(options.dir, `payloads-${options.name}`),
    LISTENER_LOG_LEVEL: process.env.CS_TEST_LOG_LEVEL ?? 'silent',
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    ...options.env,
  });
  const app = await createListenerApp(settings);
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  return {
    app,
    port,
    prefix,
    async close() {
      await app.close();
    },
  };
}

/** A JWKS endpoint over HTTPS that counts how often it is fetched. */
export interface JwksServer {
  readonly url: string;
  fetches(): number;
  setKeys(jwks: { keys: unknown[] }): void;
  close(): Promise<void>;
}

export async function startJwksServer(tls: {
  certPem: string;
  keyPem: string;
  jwks: { keys: unknown[] };
  /** Listen here (to come back on the same address after a stop); default ephemeral. */
  port?: number;
}): Promise<JwksServer> {
  let jwks = tls.jwks;
  let count = 0;
  const server = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, (_request, response) => {
    count += 1;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(tls.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}/jwks`,
    fetches: () => count,
    setKeys(keys) {
      jwks = keys;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The answer to one test request. */
export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

export interface SendOptions {
  readonly port: number;
  readonly path: string;
  readonly method?: string;
  /** HTTPS with this CA (and client identity); plain HTTP when absent. */
  readonly tls?: { readonly ca: string; readonly client?: ClientIdentity };
  /** Array values are sent as repeated header lines. */
  readonly headers?: Record<string, string | string[]>;
  readonly body?: Buffer | string;
  readonly localAddress?: string;
}

function answerOf(response: IncomingMessage): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('error', reject);
    response.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // not JSON: the test looks at the text
      }
      resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
    });
  });
}

/** One request on a fresh connection (no TLS session reuse between client identities). */
export function send(options: SendOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const common = {
      host: '127.0.0.1',
      port: options.port,
      path: options.path,
      method: options.method ?? 'POST',
      headers: options.headers,
      agent: false as const,
      localAddress: options.localAddress,
    };
    const onResponse = (response: IncomingMessage) => {
      answerOf(response).then(resolve, reject);
    };
    const request = options.tls
      ? httpsRequest(
          {
            ...common,
            ca: options.tls.ca,
            cert: options.tls.client?.certPem,
            key: options.tls.client?.keyPem,
            servername: 'localhost',
          },
          onResponse,
        )
      : httpRequest(common, onResponse);
    request.on('error', reject);
    request.end(options.body);
  });
}

/** Polls `check` until it holds, or fails naming `what`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
