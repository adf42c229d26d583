import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import {
  CONNECT_SUBJECT,
  createListenerTestPki,
  type ListenerTestPki,
} from './support/listener-pki.js';
import {
  connectSignature,
  startListener,
  type RunningListener,
} from './support/listener-harness.js';

describe('listener transport', () => {
  let dir: string;
  let pki: ListenerTestPki;
  let listener: RunningListener;

  function open(options: ConnectionOptions = {}): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: '127.0.0.1',
        port: listener.port,
        ca: pki.caBundlePem,
        cert: pki.connect.certPem,
        key: pki.connect.keyPem,
        servername: 'localhost',
        ...options,
      });
      socket.once('secureConnect', () => resolve(socket));
      socket.once('error', reject);
    });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-listener-transport-'));
    pki = await createListenerTestPki(dir);
    listener = await startListener({
      dir,
      env: {
        LISTENER_TLS_CERT_FILE: pki.serverCertFile,
        LISTENER_TLS_KEY_FILE: pki.serverKeyFile,
        LISTENER_CLIENT_CA_FILE: pki.caBundleFile,
        LISTENER_HEADERS_TIMEOUT_MS: '1000',
        CS_TEST_TRANSPORT_HMAC: 'transport-key',
      },
      profiles: {
        signed: {
          checks: ['hmac'],
          hmac: { keys: [{ id: 'k', secretEnv: 'CS_TEST_TRANSPORT_HMAC' }] },
        },
        mtls: { checks: ['mtls'], certificate: { subjects: [{ subjectDn: CONNECT_SUBJECT }] } },
      },
    });
  });

  afterAll(async () => {
    await listener?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(['TLSv1.2', 'TLSv1.3'] as const)(
    'accepts %s and asks for the client certificate during the handshake',
    async (version) => {
      const socket = await open({ minVersion: version, maxVersion: version });
      expect(socket.getProtocol()).toBe(version);
      // an mtls delivery passes on this connection: the certificate came with the handshake
      const body = `{"event":"envelope-sent","data":{"envelopeId":"tls-${version}-${Date.now()}"}}`;
      const answer = await new Promise<string>((resolve) => {
        let received = '';
        socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
        socket.on('end', () => resolve(received));
        socket.write(
          `POST /connect/mtls HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        );
      });
      expect(answer.slice(0, 300)).toMatch(/^HTTP\/1.1 200 OK/);
    },
  );

  it('refuses a TLS 1.2 renegotiation', async () => {
    const socket = await open({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    const outcome = await new Promise<string>((resolve) => {
      socket.on('error', (error: Error) => resolve(`error: ${error.message}`));
      socket.on('close', () => resolve('closed'));
      const started = socket.renegotiate({ rejectUnauthorized: false }, (error) =>
        resolve(error ? `error: ${error.message}` : 'renegotiated'),
      );
      if (!started) resolve('refused locally');
      // the renegotiation handshake only goes out with the next write
      socket.write('GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n');
    });
    socket.destroy();
    expect(outcome).toMatch(/^(error|closed)/);
  });

  it('closes a connection whose headers do not arrive in time', async () => {
    const socket = await open();
    const started = Date.now();
    const answer = await new Promise<string>((resolve) => {
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      socket.on('close', () => resolve(received));
      socket.on('error', () => resolve(received));
      socket.write('POST /connect/signed HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(answer === '' || answer.startsWith('HTTP/1.1 408')).toBe(true);
  });

  /** Writes raw bytes on a new connection and returns everything the listener sent back. */
  async function exchange(raw: string, options: { waitForContinue?: string } = {}) {
    const socket = await open();
    return new Promise<string>((resolve) => {
      let received = '';
      let continued = false;
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('utf8');
        if (options.waitForContinue && !continued && received.includes('100 Continue')) {
          continued = true;
          socket.write(options.waitForContinue);
        }
      });
      socket.on('close', () => resolve(received));
      socket.on('error', () => resolve(received));
      socket.write(raw);
    });
  }

  const bodyOf = (answer: string) =>
    JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: string };

  const rejectedCount = async (reason: string) => {
    const metrics = await exchange(
      'GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    );
    const line = metrics
      .split('\n')
      .find(
        (entry) =>
          entry.startsWith('countersign_deliveries_total{') && entry.includes(`reason="${reason}"`),
      );
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };

  it('answers oversized request headers with 431 and a reason code, and counts it', async () => {
    const before = await rejectedCount('request_headers_too_large');
    const answer = await exchange(
      `POST /connect/signed HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${'a'.repeat(
        20 * 1024,
      )}\r\nContent-Length: 0\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1.1 431 /);
    expect(answer).toMatch(/\r\nCache-Control: no-store\r\n/);
    expect(bodyOf(answer).error).toBe('request_headers_too_large');
    expect(await rejectedCount('request_headers_too_large')).toBe(before + 1);
  });

  it.each([
    ['both Content-Length and chunked framing', 'Content-Length: 5\r\nTransfer-Encoding: chunked'],
    ['two different Content-Length values', 'Content-Length: 5\r\nContent-Length: 6'],
    ['a negative Content-Length', 'Content-Length: -1'],
  ])('answers a request with %s with 400 request_malformed', async (_, headers) => {
    const answer = await exchange(
      `POST /connect/signed HTTP/1.1\r\nHost: localhost\r\n${headers}\r\n\r\nhello`,
    );
    expect(answer).toMatch(/^HTTP\/1.1 400 /);
    expect(bodyOf(answer).error).toBe('request_malformed');
  });

  it('answers an unknown path with 404 not_found, and counts it', async () => {
    const before = await rejectedCount('not_found');
    const answer = await exchange(
      'GET /nowhere HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1.1 404 /);
    expect(bodyOf(answer).error).toBe('not_found');
    expect(answer).not.toContain('/nowhere');
    expect(await rejectedCount('not_found')).toBe(before + 1);
  });

  it('refuses a delivery with two Content-Type headers with 415, even when it is signed', async () => {
    const body = '{"event":"envelope-sent","data":{"envelopeId":"two-types"}}';
    const answer = await exchange(
      'POST /connect/signed HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
        'Content-Type: application/xml\r\n' +
        `X-DocuSign-Signature-1: ${connectSignature('transport-key', body)}\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(answer).toMatch(/^HTTP\/1.1 415 /);
    expect(bodyOf(answer).error).toBe('body_unsupported_media_type');
  });

  it('sends 100 Continue to a client that lists 100-continue among other expectations', async () => {
    const body = '{"event":"envelope-sent","data":{"envelopeId":"expect-list"}}';
    const answer = await exchange(
      'POST /connect/signed HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
        'Expect: 100-continue, x-other\r\n' +
        `X-DocuSign-Signature-1: ${connectSignature('transport-key', body)}\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      { waitForContinue: body },
    );
    expect(answer).toMatch(/^HTTP\/1.1 100 Continue\r\n/);
    expect(answer).toMatch(/\r\nHTTP\/1.1 200 OK\r\n/);
  });

  it('answers an HTTP/1.1 request without Host with 400 request_malformed, and counts it', async () => {
    const before = await rejectedCount('request_malformed');
    const answer = await exchange('POST /connect/signed HTTP/1.1\r\nContent-Length: 0\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1.1 400 /);
    expect(bodyOf(answer).error).toBe('request_malformed');
    expect(await rejectedCount('request_malformed')).toBe(before + 1);
  });

  it('answers CONNECT with 405 and a JSON reason instead of dropping the connection', async () => {
    const answer = await exchange(
      'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1.1 405 /);
    expect(answer).toMatch(/\r\nAllow: GET, POST\r\n/);
    expect(bodyOf(answer).error).toBe('request_malformed');
  });

  it('answers an Expect other than 100-continue with 417 and a JSON reason', async () => {
    const answer = await exchange(
      'POST /connect/signed HTTP/1.1\r\nHost: localhost\r\nExpect: foo\r\nContent-Length: 0\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1.1 417 /);
    expect(answer).toMatch(/\r\nCache-Control: no-store\r\n/);
    expect(bodyOf(answer).error).toBe('request_malformed');
  });
});
