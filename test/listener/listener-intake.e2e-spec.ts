import { randomBytes, randomUUID } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { deliveryKey, parseConnectDelivery } from '@countersign/connect';
import {
  DELIVERIES_QUEUE,
  DirectoryPayloadStore,
  QUARANTINE_QUEUE,
  queuePrefix,
  type QuarantinedDelivery,
  type VerifiedEnvelope,
} from '@countersign/queue';
import {
  createListenerTestPki,
  CONNECT_SUBJECT,
  type ListenerTestPki,
} from './support/listener-pki.js';
import {
  connectSignature,
  send,
  startListener,
  type RunningListener,
  type TestResponse,
} from './support/listener-harness.js';

const FIXTURES = join(process.cwd(), 'test/fixtures/connect');
const HMAC_KEY = 'aW50YWtlLXRlc3Qta2V5LWZvci10aGUtbGlzdGVuZXI=';

/** Each fixture and the event, envelope and recipient its README lists. */
const FIXTURE_EVENTS: [string, string, string | undefined][] = [
  ['envelope-sent.json', 'envelope-sent', 'f3a9c2d1'],
  ['recipient-completed.json', 'recipient-completed', 'f3a9c2d1'],
  ['envelope-completed.json', 'envelope-completed', 'f3a9c2d1'],
  ['envelope-completed-with-documents.json', 'envelope-completed', 'f3a9c2d1'],
  ['envelope-voided.json', 'envelope-voided', '0d4e6f81'],
  ['envelope-declined.json', 'envelope-declined', '0d4e6f81'],
  ['template-modified.json', 'template-modified', undefined],
  ['unknown-event.json', 'envelope-reminder-sent', 'f3a9c2d1'],
  ['recipient-completed-pretty-crlf.json', 'recipient-completed', 'f3a9c2d1'],
  ['envelope-completed.xml', 'envelope-completed', 'f3a9c2d1'],
  ['envelope-sent.xml', 'envelope-sent', 'f3a9c2d1'],
];

function contentTypeOf(file: string): string {
  return file.endsWith('.xml') ? 'text/xml; charset=utf-8' : 'application/json; charset=utf-8';
}

describe('listener intake: parse, enqueue, dedupe, payload store, quarantine', () => {
  let dir: string;
  let pki: ListenerTestPki;
  let listener: RunningListener;
  let deliveries: Queue<VerifiedEnvelope>;
  let quarantine: Queue<QuarantinedDelivery>;

  function post(
    body: Buffer,
    options: { contentType?: string; port?: number; headers?: Record<string, string> } = {},
  ): Promise<TestResponse> {
    return send({
      port: options.port ?? listener.port,
      path: '/connect/signed',
      tls: { ca: pki.caBundlePem, client: pki.connect },
      headers: {
        'content-type': options.contentType ?? 'application/json',
        'X-DocuSign-Signature-1': connectSignature(HMAC_KEY, body),
        ...options.headers,
      },
      body,
    });
  }

  async function jobOf(body: Buffer, contentType: string, deliveryId: string) {
    const parsed = parseConnectDelivery(body, contentType);
    if (!parsed.ok) throw new Error(`fixture does not parse: ${parsed.reason}`);
    return deliveries.getJob(`${deliveryKey(parsed.event)}.${deliveryId}`);
  }

  const env = () => ({
    LISTENER_TLS_CERT_FILE: pki.serverCertFile,
    LISTENER_TLS_KEY_FILE: pki.serverKeyFile,
    LISTENER_CLIENT_CA_FILE: pki.caBundleFile,
    CS_TEST_INTAKE_HMAC: HMAC_KEY,
  });
  const profiles = () => ({
    signed: {
      checks: ['mtls', 'hmac'],
      certificate: { subjects: [{ subjectDn: CONNECT_SUBJECT }] },
      hmac: { keys: [{ id: 'intake', secretEnv: 'CS_TEST_INTAKE_HMAC' }] },
    },
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-listener-intake-'));
    pki = await createListenerTestPki(dir);
    listener = await startListener({ dir, env: env(), profiles: profiles() });
    const connection = { host: '127.0.0.1', port: 6379 };
    deliveries = new Queue(DELIVERIES_QUEUE, {
      connection,
      prefix: queuePrefix(listener.prefix, DELIVERIES_QUEUE),
    });
    quarantine = new Queue(QUARANTINE_QUEUE, {
      connection,
      prefix: queuePrefix(listener.prefix, QUARANTINE_QUEUE),
    });
  });

  afterAll(async () => {
    await deliveries?.close();
    await quarantine?.close();
    await listener?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(FIXTURE_EVENTS)(
    'accepts and enqueues %s as %s with its evidence',
    async (file, event, envelopePrefix) => {
      const body = await readFile(join(FIXTURES, file));
      const response = await post(body, { contentType: contentTypeOf(file) });
      expect(response.status).toBe(200);
      expect(response.json.status).toBe('enqueued');

      const job = await jobOf(body, contentTypeOf(file), response.json.deliveryId as string);
      expect(job).toBeDefined();
      const envelope = job!.data;
      expect(envelope.event.event).toBe(event);
      if (envelopePrefix === undefined) expect(envelope.event.envelopeId).toBeUndefined();
      else expect(envelope.event.envelopeId?.startsWith(envelopePrefix)).toBe(true);
      expect(envelope.profile).toBe('signed');
      expect(envelope.evidence.checks).toEqual(['mtls', 'hmac']);
      expect(envelope.evidence.hmac).toEqual({ keyId: 'intake', header: 1 });
      expect(envelope.evidence.certificate?.thumbprint).toBe(pki.connect.thumbprint);
      expect(envelope.payload.kind).toBe('inline');
      if (envelope.payload.kind === 'inline') {
        expect(Buffer.from(envelope.payload.base64, 'base64').equals(body)).toBe(true);
      }
    },
  );

  it('verifies the pretty-printed CRLF fixture over its exact bytes', async () => {
    const body = await readFile(join(FIXTURES, 'recipient-completed-pretty-crlf.json'));
    expect(body.includes('\r\n')).toBe(true);
    const reformatted = Buffer.from(body.toString('utf8').replace(/\r\n/g, '\n'));
    const response = await send({
      port: listener.port,
      path: '/connect/signed',
      tls: { ca: pki.caBundlePem, client: pki.connect },
      headers: {
        'content-type': 'application/json',
        'X-DocuSign-Signature-1': connectSignature(HMAC_KEY, body),
      },
      body: reformatted,
    });
    expect(response.json.error).toBe('hmac_mismatch');
  });

  it('answers the retry fixture 200 "duplicate" and does not enqueue it twice', async () => {
    const first = await readFile(join(FIXTURES, 'envelope-completed.json'));
    const retry = await readFile(join(FIXTURES, 'envelope-completed-retry.json'));
    // the first delivery of this event was enqueued by the fixture test above (or is now)
    await post(first);
    const response = await post(retry);
    expect(response.status).toBe(200);
    expect(response.json.status).toBe('duplicate');

    const parsed = parseConnectDelivery(retry, 'application/json');
    if (!parsed.ok) throw new Error('retry fixture does not parse');
    const key = deliveryKey(parsed.event);
    const jobs = await deliveries.getJobs(['waiting', 'active', 'completed', 'delayed']);
    expect(jobs.filter((job) => job.data.deliveryKey === key)).toHaveLength(1);
  });

  it('puts a body over the inline threshold in the payload store', async () => {
    const small = await startListener({
      dir,
      env: { ...env(), LISTENER_INLINE_PAYLOAD_MAX_BYTES: '1024' },
      profiles: profiles(),
    });
    const smallQueue = new Queue<VerifiedEnvelope>(DELIVERIES_QUEUE, {
      connection: { host: '127.0.0.1', port: 6379 },
      prefix: queuePrefix(small.prefix, DELIVERIES_QUEUE),
    });
    try {
      const body = await readFile(join(FIXTURES, 'envelope-completed-with-documents.json'));
      const response = await post(body, { port: small.port });
      expect(response.status).toBe(200);

      const parsed = parseConnectDelivery(body, 'application/json');
      if (!parsed.ok) throw new Error('fixture does not parse');
      const job = await smallQueue.getJob(
        `${deliveryKey(parsed.event)}.${response.json.deliveryId as string}`,
      );
      const payload = job!.data.payload;
      expect(payload.kind).toBe('stored');
      if (payload.kind !== 'stored') return;
      const stored = await new DirectoryPayloadStore(join(dir, 'payloads')).get(
        payload.ref,
        payload.sha256,
      );
      expect(stored.equals(body)).toBe(true);
      expect(JSON.stringify(job!.data)).not.toContain('PDFBytes');
    } finally {
      await smallQueue.close();
      await small.close();
    }
  });

  it('accepts a 25 MiB delivery, read in steps, with the event parseConnectDelivery reads', async () => {
    const fixture = JSON.parse(
      await readFile(join(FIXTURES, 'envelope-completed-with-documents.json'), 'utf8'),
    ) as { data: { envelopeSummary: { envelopeDocuments: { PDFBytes?: string }[] } } };
    const document = fixture.data.envelopeSummary.envelopeDocuments.find(
      (candidate) => candidate.PDFBytes !== undefined,
    );
    document!.PDFBytes = randomBytes(19 * 1024 * 1024).toString('base64');
    const body = Buffer.from(JSON.stringify(fixture));
    expect(body.length).toBeGreaterThan(25 * 1024 * 1024);

    const response = await post(body);
    expect(response.status).toBe(200);
    expect(response.json.status).toBe('enqueued');

    const parsed = parseConnectDelivery(body, 'application/json');
    if (!parsed.ok) throw new Error('the large body does not parse');
    const job = await jobOf(body, 'application/json', response.json.deliveryId as string);
    expect(job!.data.event).toEqual(parsed.event);
    expect(job!.data.payload).toMatchObject({ kind: 'stored', size: body.length });
  });

  it('answers 400 for an authenticated body that is not an event and keeps it in quarantine', async () => {
    const body = Buffer.from(`{"event":"envelope-sent","data":{"envelopeId":"${randomUUID()}"`);
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(response.json.error).toBe('body_malformed_json');

    const kept = (await quarantine.getJobs(['waiting'])).find(
      (job) =>
        job.data.payload.kind === 'inline' &&
        Buffer.from(job.data.payload.base64, 'base64').equals(body),
    );
    expect(kept?.data.reason).toBe('body_malformed_json');
    expect(kept?.data.evidence.checks).toEqual(['mtls', 'hmac']);
  });

  it('refuses a forbidden DTD with 400 and keeps the body in quarantine', async () => {
    const body = Buffer.from(
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><DocuSignEnvelopeInformation xmlns="http://www.docusign.net/API/3.0"/>',
    );
    const response = await post(body, { contentType: 'text/xml' });
    expect(response.status).toBe(400);
    expect(response.json.error).toBe('body_forbidden_dtd');
  });

  it('answers 415 for a signed body of another content type, after authentication', async () => {
    const body = Buffer.from('event=envelope-sent');
    expect((await post(body, { contentType: 'text/plain' })).status).toBe(415);
    const unsigned = await post(body, {
      contentType: 'text/plain',
      headers: { 'X-DocuSign-Signature-1': connectSignature('another-key', body) },
    });
    expect(unsigned.json.error).toBe('hmac_mismatch');
  });

  it('answers 413 for a body over the limit', async () => {
    const limited = await startListener({
      dir,
      env: { ...env(), LISTENER_BODY_LIMIT_BYTES: '2048' },
      profiles: profiles(),
    });
    try {
      const body = Buffer.alloc(4096, 'a');
      const response = await post(body, { port: limited.port });
      expect(response.status).toBe(413);
      expect(response.json.error).toBe('body_too_large');

      // no Content-Length: the limit is enforced while the body streams in
      const chunked = await post(body, {
        port: limited.port,
        headers: { 'transfer-encoding': 'chunked' },
      });
      expect(chunked.status).toBe(413);
      expect(chunked.json.error).toBe('body_too_large');
    } finally {
      await limited.close();
    }
  });

  it('answers Expect: 100-continue only after the header checks pass', async () => {
    const body = await readFile(join(FIXTURES, 'envelope-declined.json'));
    const exchange = (signature: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({
          host: '127.0.0.1',
          port: listener.port,
          ca: pki.caBundlePem,
          cert: pki.connect.certPem,
          key: pki.connect.keyPem,
          servername: 'localhost',
        });
        let received = '';
        let bodySent = false;
        socket.on('secureConnect', () => {
          socket.write(
            [
              'POST /connect/signed HTTP/1.1',
              'Host: localhost',
              'Content-Type: application/json',
              `Content-Length: ${body.length}`,
              `X-DocuSign-Signature-1: ${signature}`,
              'Expect: 100-continue',
              'Connection: close',
              '',
              '',
            ].join('\r\n'),
          );
        });
        socket.on('data', (chunk: Buffer) => {
          received += chunk.toString('utf8');
          if (!bodySent && received.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
            bodySent = true;
            socket.write(body);
          }
        });
        socket.on('end', () => resolve(received));
        socket.on('error', reject);
      });

    const accepted = await exchange(connectSignature(HMAC_KEY, body));
    expect(accepted.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK')).toBe(true);
  });

  it('refuses before asking for the body when a header check fails under Expect: 100-continue', async () => {
    const response = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: listener.port,
        ca: pki.caBundlePem,
        servername: 'localhost',
      });
      let received = '';
      socket.on('secureConnect', () => {
        socket.write(
          'POST /connect/signed HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
            'Content-Length: 100000\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
        );
      });
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      socket.on('end', () => resolve(received));
      socket.on('error', reject);
    });
    expect(response.startsWith('HTTP/1.1 401')).toBe(true);
    expect(response).not.toContain('100 Continue');
    expect(response).toContain('certificate_missing');
  });

  it('answers 503 with Retry-After within 2 s when Redis is unreachable', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const down = await startListener({
      dir,
      env: { ...env(), REDIS_URL: `redis://127.0.0.1:${closedPort}` },
      profiles: profiles(),
    });
    try {
      const body = await readFile(join(FIXTURES, 'envelope-sent.json'));
      const started = Date.now();
      const response = await post(body, { port: down.port });
      expect(Date.now() - started).toBeLessThan(2000);
      expect(response.status).toBe(503);
      expect(response.json.error).toBe('queue_unavailable');
      expect(response.headers['retry-after']).toBeDefined();

      const ready = await send({
        port: down.port,
        path: '/health/ready',
        method: 'GET',
        tls: { ca: pki.caBundlePem },
      });
      expect(ready.status).toBe(503);
    } finally {
      await down.close();
    }
  });

  it('serves liveness, readiness and the delivery metrics', async () => {
    const get = (path: string) =>
      send({ port: listener.port, path, method: 'GET', tls: { ca: pki.caBundlePem } });
    expect((await get('/health/live')).status).toBe(200);
    const ready = await get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.json.checks).toEqual({ redis: 'ok' });

    const metrics = (await get('/metrics')).text;
    expect(metrics).toMatch(/countersign_deliveries_total\{[^}]*outcome="enqueued"/);
    expect(metrics).toMatch(
      /countersign_deliveries_total\{[^}]*outcome="rejected"[^}]*reason="hmac_mismatch"/,
    );
    expect(metrics).toMatch(/countersign_check_duration_seconds_bucket\{[^}]*check="hmac"/);
    expect(metrics).toContain('countersign_enqueue_duration_seconds');
  });
});
