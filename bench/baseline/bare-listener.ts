/**
 * The baseline of scenarios 1, 3 and 4: a bare `node:https` server doing the listener's checks
 * with node:crypto, jose and BullMQ and nothing else (no Nest, no logging, no metrics). It is what
 * "close to the limit" means: the listener is measured against it in the same run.
 *
 * Checks, in the listener's order: route, TLS client certificate (`socket.authorized` + x5t#S256
 * pin), Bearer JWT (jose, local JWKS, RFC 9068 claims, scope; verified tokens cached by digest
 * until `exp`), revocation (one Redis EXISTS, every request), certificate binding (cnf x5t#S256),
 * HMAC over the raw bytes, JSON parse, then a durable BullMQ add (inline or payload store) with a
 * deterministic job id and deduplication, answered 200 only after Redis accepted the job.
 *
 * Configuration: one JSON object in the BARE_LISTENER_CONFIG environment variable (see
 * BareListenerConfig). Prints `{"listening":<port>}` on stdout once it accepts connections.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type ServerOptions } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  createLocalJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';

import { redisOptionsFromUrl, revokedTokenKey } from '@countersign/common';
import {
  DEDUPE_WINDOW_MS,
  DELIVERIES_QUEUE,
  DirectoryPayloadStore,
  JOB_NAMES,
  queuePrefix,
  type PayloadRef,
} from '@countersign/queue';

/** Everything the bare listener needs, read once at start-up. */
export interface BareListenerConfig {
  readonly port: number;
  readonly host: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  readonly profile: string;
  readonly pins: string[];
  readonly jwksFile: string;
  readonly issuer: string;
  readonly audience: string;
  readonly scope: string;
  readonly hmacKeys: string[];
  readonly redisUrl: string;
  readonly queueRoot: string;
  readonly inlineMaxBytes: number;
  readonly bodyLimitBytes: number;
  readonly payloadDir: string;
}

interface Claims extends JWTPayload {
  readonly client_id: string;
  readonly scope?: string;
  readonly cnf?: { readonly 'x5t#S256'?: unknown };
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const TOKEN_CACHE_MAX = 10_000;

function sha256(input: Buffer | string): Buffer {
  return createHash('sha256').update(input).digest();
}

/** Constant-time equality of two strings, over their digests so lengths need not match. */
function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

function readConfig(): BareListenerConfig {
  const raw = process.env.BARE_LISTENER_CONFIG;
  if (raw === undefined) throw new Error('BARE_LISTENER_CONFIG is required');
  return JSON.parse(raw) as BareListenerConfig;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      reject(new Refusal(413, 'body_too_large'));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.destroy();
        reject(new Refusal(413, 'body_too_large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function main(): void {
  const config = readConfig();
  const jwks = createLocalJWKSet(
    JSON.parse(readFileSync(config.jwksFile, 'utf8')) as JSONWebKeySet,
  );
  const redis = new Redis(redisOptionsFromUrl(config.redisUrl));
  const queueConnection = new Redis(redisOptionsFromUrl(config.redisUrl));
  const queue = new Queue(DELIVERIES_QUEUE, {
    connection: queueConnection,
    prefix: queuePrefix(config.queueRoot, DELIVERIES_QUEUE),
  });
  const payloads = new DirectoryPayloadStore(config.payloadDir);
  const route = `/connect/${config.profile}`;
  const tokenCache = new Map<string, Claims>();

  async function verifyToken(token: string): Promise<Claims> {
    const key = sha256(token).toString('base64url');
    const cached = tokenCache.get(key);
    if (cached !== undefined && (cached.exp ?? 0) * 1000 > Date.now()) return cached;
    try {
      const { payload } = await jwtVerify<Claims>(token, jwks, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: ['ES256', 'PS256', 'RS256', 'EdDSA'],
        typ: 'at+jwt',
        requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
        clockTolerance: 30,
      });
      if (tokenCache.size >= TOKEN_CACHE_MAX) tokenCache.clear();
      tokenCache.set(key, payload);
      return payload;
    } catch (error) {
      throw new Refusal(
        401,
        error instanceof joseErrors.JWTExpired ? 'token_expired' : 'token_invalid',
      );
    }
  }

  function verifyHmac(req: IncomingMessage, body: Buffer): void {
    const expected = config.hmacKeys.map((key) => createHmac('sha256', key).update(body).digest());
    let matched = false;
    for (let index = 1; index <= 100; index += 1) {
      const header = req.headers[`x-docusign-signature-${index}`];
      if (typeof header !== 'string') continue;
      const presented = Buffer.from(header, 'base64');
      if (presented.length !== 32) continue;
      for (const digest of expected) matched = timingSafeEqual(presented, digest) || matched;
    }
    if (!matched) throw new Refusal(401, 'hmac_mismatch');
  }

  async function handle(req: IncomingMessage): Promise<{ status: string; deliveryId: string }> {
    if (req.method !== 'POST' || req.url !== route) throw new Refusal(404, 'not_found');

    const socket = req.socket as TLSSocket;
    const certificate = socket.authorized ? socket.getPeerX509Certificate() : undefined;
    if (certificate === undefined) throw new Refusal(401, 'certificate_not_trusted');
    const thumbprint = sha256(certificate.raw).toString('base64url');
    if (!config.pins.some((pin) => safeEqual(pin, thumbprint))) {
      throw new Refusal(401, 'certificate_not_pinned');
    }

    const authorization = req.headers.authorization;
    if (authorization === undefined || !/^bearer /i.test(authorization)) {
      throw new Refusal(401, 'token_missing');
    }
    const claims = await verifyToken(authorization.slice(7).trim());
    if (!(claims.scope ?? '').split(' ').includes(config.scope)) {
      throw new Refusal(403, 'insufficient_scope');
    }
    if ((await redis.exists(revokedTokenKey(config.queueRoot, config.issuer, claims.jti!))) === 1) {
      throw new Refusal(401, 'token_revoked');
    }
    const bound = claims.cnf?.['x5t#S256'];
    if (typeof bound !== 'string' || !safeEqual(bound, thumbprint)) {
      throw new Refusal(401, 'token_binding_mismatch');
    }

    const body = await readBody(req, config.bodyLimitBytes);
    verifyHmac(req, body);

    const contentType = req.headers['content-type'] ?? '';
    if (!/^application\/json\s*(;|$)/i.test(contentType)) {
      throw new Refusal(415, 'body_unsupported_media_type');
    }
    let event: { event?: unknown; generatedDateTime?: unknown; data?: Record<string, unknown> };
    try {
      event = JSON.parse(body.toString('utf8')) as typeof event;
    } catch {
      throw new Refusal(400, 'body_malformed_json');
    }
    if (typeof event.event !== 'string' || typeof event.data !== 'object' || event.data === null) {
      throw new Refusal(400, 'body_invalid_event');
    }
    const deliveryKey = sha256(
      JSON.stringify([
        event.event,
        event.data.accountId,
        event.data.envelopeId,
        event.data.recipientId,
        event.generatedDateTime,
      ]),
    ).toString('base64url');

    let payload: PayloadRef;
    if (body.length <= config.inlineMaxBytes) {
      payload = {
        kind: 'inline',
        contentType,
        base64: body.toString('base64'),
        sha256: sha256(body).toString('base64url'),
        size: body.length,
      };
    } else {
      const stored = await payloads.put(body);
      payload = { kind: 'stored', contentType, ...stored };
    }

    const deliveryId = randomUUID();
    await queue.add(
      JOB_NAMES.verifiedEnvelope,
      {
        version: 1,
        deliveryId,
        deliveryKey,
        profile: config.profile,
        receivedAt: new Date().toISOString(),
        event: { format: 'json', event: event.event, documents: [], data: event.data },
        evidence: {
          checks: ['mtls', 'oauth', 'bound-token', 'hmac'],
          token: { issuer: claims.iss, clientId: claims.client_id, jti: claims.jti },
        },
        payload,
      },
      {
        // the listener's job options: id from key + delivery id, dedupe atomic with the add
        jobId: `${deliveryKey}.${deliveryId}`,
        deduplication: { id: deliveryKey, ttl: DEDUPE_WINDOW_MS },
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: 24 * 60 * 60, count: 10_000 },
        removeOnFail: { age: 14 * 24 * 60 * 60 },
      },
    );
    return { status: 'enqueued', deliveryId };
  }

  function answer(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  const options: ServerOptions = {
    key: readFileSync(config.keyFile),
    cert: readFileSync(config.certFile),
    ca: readFileSync(config.caFile),
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  };
  const server = createServer(options, (req, res) => {
    handle(req).then(
      (result) => answer(res, 200, result),
      (error: unknown) => {
        if (error instanceof Refusal) {
          answer(res, error.status, { error: error.reason });
        } else {
          answer(res, 503, { error: 'unavailable' });
        }
      },
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 65_000;

  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    void Promise.allSettled([queue.close(), queueConnection.quit(), redis.quit()]).then(() =>
      process.exit(0),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  server.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    process.stdout.write(`${JSON.stringify({ listening: port })}\n`);
  });
}

main();
