/**
 * The baseline of scenario 6: a bare node:https token endpoint issuing certificate-bound RFC 9068
 * tokens with node:crypto and jose and nothing else. Two clients, as in the auth-server bench:
 * `tls_client_auth` (the TLS stack verified the certificate against the CA; the client's SAN dNSName
 * must match) and `client_secret_basic` (scrypt N=2^15, r=8, p=1 over the presented secret, the
 * auth-server's parameters). Configuration: BARE_TOKEN_CONFIG (see BareTokenConfig). Prints
 * `{"listening":<port>}` once it accepts connections.
 */
import { createHash, randomUUID, scrypt, timingSafeEqual, type X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';

import { importJWK, SignJWT, type JWK } from 'jose';

interface BareTokenConfig {
  readonly port: number;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  readonly issuer: string;
  readonly audience: string;
  readonly scope: string;
  readonly mtlsClient: { readonly clientId: string; readonly sanDns: string };
  readonly secretClient: { readonly clientId: string; readonly secretHash: string };
  /** Private signing JWK (ES256) with its kid. */
  readonly signingJwk: JWK & { kid: string };
}

class Refusal extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 16 * 1024) req.destroy(new Refusal('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function scryptAsync(secret: string, salt: Buffer, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, length, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }, (e, key) =>
      e ? reject(e) : resolve(key),
    );
  });
}

async function secretMatches(secret: string, encoded: string): Promise<boolean> {
  const [, , , , salt, hash] = encoded.split('$');
  const expected = Buffer.from(hash ?? '', 'base64url');
  const candidate = await scryptAsync(
    secret,
    Buffer.from(salt ?? '', 'base64url'),
    expected.length,
  );
  return candidate.length === expected.length && timingSafeEqual(candidate, expected);
}

async function main(): Promise<void> {
  const raw = process.env.BARE_TOKEN_CONFIG;
  if (raw === undefined) throw new Error('BARE_TOKEN_CONFIG is required');
  const config = JSON.parse(raw) as BareTokenConfig;
  const signingKey = await importJWK(config.signingJwk, 'ES256');

  async function authenticate(
    req: IncomingMessage,
    form: URLSearchParams,
    certificate: X509Certificate | undefined,
  ): Promise<string> {
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      if (!/^basic /i.test(authorization)) throw new Refusal('invalid_client');
      const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
      const secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
      const known = clientId === config.secretClient.clientId;
      const matches = await secretMatches(secret, config.secretClient.secretHash);
      if (!known || !matches) throw new Refusal('invalid_client');
      return clientId;
    }
    const clientId = form.get('client_id');
    if (clientId !== config.mtlsClient.clientId || certificate === undefined) {
      throw new Refusal('invalid_client');
    }
    const host = certificate.checkHost(config.mtlsClient.sanDns, {
      subject: 'never',
      wildcards: false,
      partialWildcards: false,
    });
    if (host === undefined) throw new Refusal('invalid_client');
    return clientId;
  }

  async function issue(req: IncomingMessage): Promise<Record<string, unknown>> {
    if (req.method !== 'POST' || req.url !== '/oauth2/token') throw new Refusal('not_found');
    if (!/^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')) {
      throw new Refusal('invalid_request');
    }
    const form = new URLSearchParams(await readBody(req));
    if (form.get('grant_type') !== 'client_credentials')
      throw new Refusal('unsupported_grant_type');
    const socket = req.socket as TLSSocket;
    const certificate = socket.authorized ? socket.getPeerX509Certificate() : undefined;
    const clientId = await authenticate(req, form, certificate);
    if (certificate === undefined) throw new Refusal('invalid_grant');

    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({
      client_id: clientId,
      scope: config.scope,
      cnf: { 'x5t#S256': createHash('sha256').update(certificate.raw).digest('base64url') },
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: config.signingJwk.kid })
      .setIssuer(config.issuer)
      .setAudience(config.audience)
      .setSubject(clientId)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(signingKey);
    return { access_token: token, token_type: 'Bearer', expires_in: 300, scope: config.scope };
  }

  function answer(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  const server = createServer(
    {
      key: readFileSync(config.keyFile),
      cert: readFileSync(config.certFile),
      ca: readFileSync(config.caFile),
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      issue(req).then(
        (body) => answer(res, 200, body),
        (error: unknown) =>
          error instanceof Refusal
            ? answer(res, error.message === 'not_found' ? 404 : 400, { error: error.message })
            : answer(res, 500, { error: 'server_error' }),
      );
    },
  );
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  server.listen(config.port, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ listening: config.port })}\n`);
  });
}

void main();
