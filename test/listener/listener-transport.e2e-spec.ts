import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import {
  CONNECT_SUBJECT,
  createListenerTestPki,
  type ListenerTestPki,
} from './support/listener-pki.js';
import { startListener, type RunningListener } from './support/listener-harness.js';

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
});
