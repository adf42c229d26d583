import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import type { SecureVersion, TLSSocket } from 'node:tls';
import { join } from 'node:path';

import { freePort, send } from './support/http-client.js';
import { findNginx, startNginx, type RunningNginx } from './support/nginx-harness.js';
import { createProxyTestPki, type ProxyTestPki } from './support/test-pki.js';

// What the example nginx configuration sends upstream, seen by a bare HTTP server that records
// each request's raw headers and body. The listener's own decisions are in nginx.e2e-spec.ts.

interface Seen {
  readonly rawHeaders: string[];
  readonly remoteAddress: string | undefined;
  readonly body: Buffer;
}

function headerValues(seen: Seen, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < seen.rawHeaders.length; i += 2) {
    if (seen.rawHeaders[i].toLowerCase() === name) values.push(seen.rawHeaders[i + 1]);
  }
  return values;
}

describe('the example nginx configuration in front of the listener', () => {
  let dir: string;
  let pki: ProxyTestPki;
  let nginx: RunningNginx;
  let upstream: Server;
  const seen: Seen[] = [];

  beforeAll(async () => {
    findNginx();
    dir = await mkdtemp(join(tmpdir(), 'cs-proxy-forwarding-'));
    pki = await createProxyTestPki(dir);

    const upstreamPort = await freePort();
    upstream = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({
          rawHeaders: req.rawHeaders,
          remoteAddress: req.socket.remoteAddress,
          body: Buffer.concat(chunks),
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"seen"}');
      });
    });
    await new Promise<void>((done) => upstream.listen(upstreamPort, '127.0.0.1', done));

    nginx = await startNginx(join(dir, 'nginx'), {
      listenPort: await freePort(),
      upstreamPort,
      serverCertFile: pki.server.certFile,
      serverKeyFile: pki.server.keyFile,
      clientCaFile: pki.caBundleFile,
    });
  });

  afterAll(async () => {
    await nginx?.stop();
    await new Promise((done) => upstream?.close(done));
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    seen.length = 0;
  });

  function post(
    client: { cert: string; key: string } | undefined,
    headers: Record<string, string> = {},
    body = Buffer.from('{"event":"envelope-sent"}'),
  ) {
    return send({
      port: nginx.port,
      path: '/connect/docusign',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      tls: { ca: pki.caBundlePem, ...client },
    });
  }

  it('forwards the client certificate it received in the handshake as URL-encoded PEM', async () => {
    const answer = await post({ cert: pki.connectClient.certPem, key: pki.connectClient.keyPem });

    expect(answer.status).toBe(200);
    const forwarded = headerValues(seen[0], 'x-ssl-client-cert');
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]).not.toMatch(/[\s+/=]/);
    const received = new X509Certificate(decodeURIComponent(forwarded[0]));
    expect(received.fingerprint256).toBe(
      new X509Certificate(pki.connectClient.certPem).fingerprint256,
    );
  });

  it('forwards a certificate from an unrelated CA and leaves the trust decision to the listener', async () => {
    const answer = await post({
      cert: pki.unrelatedCaClient.certPem,
      key: pki.unrelatedCaClient.keyPem,
    });

    expect(answer.status).toBe(200);
    const received = new X509Certificate(
      decodeURIComponent(headerValues(seen[0], 'x-ssl-client-cert')[0]),
    );
    expect(received.fingerprint256).toBe(
      new X509Certificate(pki.unrelatedCaClient.certPem).fingerprint256,
    );
  });

  it('refuses an expired certificate of a configured CA itself, with 400, before the listener', async () => {
    const answer = await post({ cert: pki.expiredClient.certPem, key: pki.expiredClient.keyPem });

    expect(answer.status).toBe(400);
    expect(seen).toHaveLength(0);
    expect(await nginx.errorLog()).toContain('client SSL certificate verify error');
  });

  it('replaces a client-sent X-SSL-Client-Cert with the certificate of the handshake', async () => {
    const forged = encodeURIComponent(pki.connectClient.certPem);
    await post(
      { cert: pki.otherSubjectClient.certPem, key: pki.otherSubjectClient.keyPem },
      { 'X-SSL-Client-Cert': forged },
    );

    const forwarded = headerValues(seen[0], 'x-ssl-client-cert');
    expect(forwarded).toHaveLength(1);
    expect(new X509Certificate(decodeURIComponent(forwarded[0])).fingerprint256).toBe(
      new X509Certificate(pki.otherSubjectClient.certPem).fingerprint256,
    );
  });

  it('drops a client-sent X-SSL-Client-Cert when the client showed no certificate', async () => {
    await post(undefined, { 'X-SSL-Client-Cert': encodeURIComponent(pki.connectClient.certPem) });

    expect(seen).toHaveLength(1);
    expect(headerValues(seen[0], 'x-ssl-client-cert')).toEqual([]);
  });

  it('drops the other forwarded-certificate headers a client sends', async () => {
    const pem = encodeURIComponent(pki.connectClient.certPem);
    await post(undefined, {
      'X-Forwarded-Client-Cert': `Cert="${pem}"`,
      'X-Amzn-Mtls-Clientcert': pem,
      'Client-Cert': ':AAAA:',
      'Client-Cert-Chain': ':AAAA:',
    });

    for (const name of [
      'x-forwarded-client-cert',
      'x-amzn-mtls-clientcert',
      'client-cert',
      'client-cert-chain',
    ]) {
      expect(headerValues(seen[0], name)).toEqual([]);
    }
  });

  it.each<SecureVersion>(['TLSv1.2', 'TLSv1.3'])(
    'forwards the client certificate on a resumed %s session too',
    async (version) => {
      const agent = new Agent({
        ca: pki.caBundlePem,
        cert: pki.connectClient.certPem,
        key: pki.connectClient.keyPem,
        minVersion: version,
        maxVersion: version,
        keepAlive: false,
      });
      const once = () =>
        new Promise<boolean>((done, fail) => {
          const req = request(
            {
              host: '127.0.0.1',
              servername: 'localhost',
              port: nginx.port,
              path: '/connect/docusign',
              method: 'POST',
              agent,
              headers: { 'content-type': 'application/json', connection: 'close' },
            },
            (res) => {
              res.resume();
              res.on('end', () => done((res.socket as TLSSocket).isSessionReused()));
            },
          );
          req.on('error', fail);
          req.end('{}');
        });

      const first = await once();
      await new Promise((wait) => setTimeout(wait, 50));
      const second = await once();
      agent.destroy();

      expect([first, second]).toEqual([false, true]);
      const thumbprints = seen.map(
        (request) =>
          new X509Certificate(decodeURIComponent(headerValues(request, 'x-ssl-client-cert')[0]))
            .fingerprint256,
      );
      const genuine = new X509Certificate(pki.connectClient.certPem).fingerprint256;
      expect(thumbprints).toEqual([genuine, genuine]);
    },
  );

  it('overwrites X-Forwarded-For with the address nginx saw', async () => {
    await post(undefined, { 'X-Forwarded-For': '203.0.113.9' });

    expect(headerValues(seen[0], 'x-forwarded-for')).toEqual(['127.0.0.1']);
  });

  it('passes the body bytes through unchanged, CRLF and all', async () => {
    const body = Buffer.from(
      '{\r\n  "event": "recipient-completed",\r\n  "data": { "x": "\\/" }\r\n}\r\n',
    );
    await post(undefined, {}, body);

    expect(seen[0].body.equals(body)).toBe(true);
  });

  it('accepts a body of 32 MiB, the listener default limit, and passes it whole', async () => {
    const body = Buffer.alloc(32 * 1024 * 1024, 0x61);
    const answer = await post(undefined, {}, body);

    expect(answer.status).toBe(200);
    expect(seen[0].body.length).toBe(body.length);
  });

  it('refuses methods other than POST on the Connect route without calling the listener', async () => {
    const answer = await send({
      port: nginx.port,
      path: '/connect/docusign',
      method: 'GET',
      headers: {},
      body: Buffer.alloc(0),
      tls: { ca: pki.caBundlePem },
    });

    expect(answer.status).toBe(403);
    expect(seen).toHaveLength(0);
  });

  it('answers 404 outside /connect/ without calling the listener', async () => {
    const answer = await post(undefined);
    const other = await send({
      port: nginx.port,
      path: '/metrics',
      method: 'GET',
      headers: {},
      body: Buffer.alloc(0),
      tls: { ca: pki.caBundlePem },
    });

    expect(answer.status).toBe(200);
    expect(other.status).toBe(404);
    expect(seen).toHaveLength(1);
  });
});
