import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';

import { createAuthServer } from '../../../apps/auth-server/src/app.js';
import { loadAuthServerConfig } from '../../../apps/auth-server/src/config/auth-server.config.js';
import type { AuthTestPki, Issued } from './test-pki.js';

export interface RunningAuthServer {
  readonly app: INestApplication;
  readonly origin: string;
  readonly issuer: string;
  readonly prefix: string;
  readonly dir: string;
  readonly keysDir: string;
  readonly redis: Redis;
  close(): Promise<void>;
}

/**
 * Starts the auth-server in-process over real HTTPS on an ephemeral port, with its own temp
 * directory and a unique Redis key prefix. `close` deletes the keys it created.
 */
export async function startAuthServer(options: {
  pki: AuthTestPki;
  clients: Record<string, unknown>[];
  env?: Record<string, string>;
}): Promise<RunningAuthServer> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-auth-'));
  const prefix = `cs-test-${randomBytes(6).toString('hex')}`;
  const write = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  // the issuer names the port, so take a free ephemeral port from the OS first
  const port = await freePort();
  const issuer = `https://127.0.0.1:${port}`;
  let app: INestApplication | undefined;
  try {
    const config = loadAuthServerConfig({
      AUTH_PORT: String(port),
      AUTH_HOST: '127.0.0.1',
      AUTH_ISSUER: issuer,
      AUTH_TLS_CERT_FILE: write('server.pem', options.pki.server.certPem),
      AUTH_TLS_KEY_FILE: write('server.key', options.pki.server.keyPem),
      AUTH_CLIENT_CA_FILE: write('client-ca.pem', options.pki.clientCaBundlePem),
      AUTH_CLIENTS_FILE: write('clients.json', JSON.stringify({ clients: options.clients })),
      AUTH_KEYS_DIR: join(dir, 'keys'),
      AUTH_LOG_LEVEL: 'silent',
      QUEUE_PREFIX: prefix,
      ...options.env,
    });
    app = await createAuthServer(config);
    await app.listen(port, '127.0.0.1');
  } catch (error) {
    // a start-up that fails (a refused setting, a broken keys directory) leaves nothing behind
    await app?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  await redis.connect();

  return {
    app,
    origin: issuer,
    issuer,
    prefix,
    dir,
    keysDir: join(dir, 'keys'),
    redis,
    async close() {
      await app.close();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

/** One HTTPS request with an optional client certificate; the server CA is trusted. */
export function call(
  server: RunningAuthServer,
  pki: AuthTestPki,
  options: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    clientCert?: Issued;
    /** Another loopback source address (127.0.0.2, ...), as a second client machine. */
    localAddress?: string;
  },
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const url = new URL(options.path, server.origin);
    const req = httpsRequest(
      url,
      {
        method: options.method ?? 'POST',
        headers: options.headers,
        ca: pki.serverCaPem,
        cert: options.clientCert?.certPem,
        key: options.clientCert?.keyPem,
        localAddress: options.localAddress,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // not JSON; tests look at `text`
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A form body, each name and value encoded as RFC 6749 Appendix B says. */
export function form(parameters: Record<string, string> | [string, string][]): {
  body: string;
  headers: Record<string, string>;
} {
  const pairs = Array.isArray(parameters) ? parameters : Object.entries(parameters);
  return {
    body: pairs.map(([name, value]) => `${formEncode(name)}=${formEncode(value)}`).join('&'),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  };
}

/** application/x-www-form-urlencoded encoding of one component (space as `+`). */
export function formEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*~]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** `Basic` credentials per RFC 6749 §2.3.1: each part form-encoded, then joined and base64. */
export function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(secret)}`).toString('base64')}`;
}
