import { createHmac, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Redis } from 'ioredis';
import { loadListenerSettings } from '../../../apps/listener/src/config/listener-settings.js';
import { createListenerApp } from '../../../apps/listener/src/listener.app.js';
import type { TestCredential } from './listener-pki.js';

/** A listener running on an ephemeral port with its own Redis key prefix. */
export interface RunningListener {
  readonly app: NestExpressApplication;
  readonly port: number;
  readonly prefix: string;
  readonly dir: string;
  close(): Promise<void>;
}

/** Starts a listener from a profiles object and environment overrides. */
export async function startListener(options: {
  profiles: Record<string, unknown>;
  env: Record<string, string>;
  dir?: string;
  /** Share a key prefix with another app of the same test (its owner deletes the keys). */
  prefix?: string;
}): Promise<RunningListener> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'cs-listener-')));
  const prefix = options.prefix ?? `cs-test-${randomBytes(6).toString('hex')}`;
  const profilesFile = join(dir, `profiles-${prefix}.json`);
  await writeFile(profilesFile, JSON.stringify({ profiles: options.profiles }));

  const settings = loadListenerSettings({
    LISTENER_PROFILES_FILE: profilesFile,
    LISTENER_PAYLOAD_DIR: join(dir, 'payloads'),
    LISTENER_LOG_LEVEL: process.env.CS_TEST_LOG_LEVEL ?? 'silent',
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
    dir,
    async close() {
      await app.close();
      await deleteKeys(prefix);
      if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Deletes the Redis keys of one test run (never anything else). */
export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
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

/** The answer of one test request. */
export interface TestResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

/** One request on a fresh connection (no session reuse between client certificates). */
export function send(options: {
  port: number;
  path: string;
  method?: string;
  tls?: { ca: string; client?: TestCredential };
  headers?: Record<string, string | string[]>;
  body?: Buffer | string;
}): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const common = {
      host: '127.0.0.1',
      port: options.port,
      path: options.path,
      method: options.method ?? 'POST',
      headers: options.headers,
      agent: false as const,
    };
    const onResponse = (response: import('node:http').IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // not JSON: tests look at text
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
      });
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

/** The `X-DocuSign-Signature-1` value for a body under a key, computed independently. */
export function connectSignature(key: string, body: Buffer | string): string {
  return createHmac('sha256', Buffer.from(key, 'utf8')).update(body).digest('base64');
}
