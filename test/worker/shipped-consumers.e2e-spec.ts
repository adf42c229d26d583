import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { DirectoryPayloadStore, type VerifiedEnvelope } from '@countersign/queue';
import type { Redis } from 'ioredis';
import { AuditLogConsumer } from '../../apps/worker/src/consumers/audit-log/audit-log.consumer.js';
import { EnvelopeStatusStore } from '../../apps/worker/src/consumers/envelope-status/envelope-status.store.js';
import { ShippedConsumersModule } from '../../apps/worker/src/consumers/shipped-consumers.module.js';
import {
  deleteKeys,
  enqueueDelivery,
  envelopeFromBody,
  envelopeFromFixture,
  FIXTURES,
  redisClient,
  startWorker,
  testConfig,
  uniquePrefix,
  waitFor,
} from './worker-harness.js';

const ENVELOPE = 'f3a9c2d1-7b4e-4c8a-a1d6-5e2f8b0c9d37';

async function fixturePdfs(): Promise<Map<string, Buffer>> {
  const json = JSON.parse(
    await readFile(join(FIXTURES, 'envelope-completed-with-documents.json'), 'utf8'),
  );
  const pdfs = new Map<string, Buffer>();
  for (const document of json.data.envelopeSummary.envelopeDocuments) {
    pdfs.set(document.documentId, Buffer.from(document.PDFBytes, 'base64'));
  }
  return pdfs;
}

/** The parts of an audit line (or status answer) the tests read. */
interface Seen {
  deliveryId: string;
  deliveryKey: string;
  status?: string;
  error?: string;
  evidence: { checks: string[]; certificate: { thumbprint: string } };
  payload: unknown;
  event: { data?: unknown };
}

async function auditLines(file: string): Promise<Seen[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Seen);
}

describe('shipped consumers', () => {
  let prefix: string;
  let redis: Redis;
  let app: INestApplication;
  let url: string;
  let dir: string;
  let archiveDir: string;
  let auditFile: string;
  let payloadDir: string;

  beforeAll(async () => {
    prefix = uniquePrefix();
    redis = redisClient();
    dir = await mkdtemp(join(tmpdir(), 'cs-worker-'));
    archiveDir = join(dir, 'archive');
    auditFile = join(dir, 'audit', 'deliveries.jsonl');
    payloadDir = join(dir, 'payloads');
    ({ app, url } = await startWorker(
      testConfig(prefix, {
        WORKER_PAYLOAD_DIR: payloadDir,
        WORKER_ARCHIVE_DIR: archiveDir,
        WORKER_AUDIT_LOG_FILE: auditFile,
      }),
      [ShippedConsumersModule],
    ));
  });

  afterAll(async () => {
    await app?.close();
    await deleteKeys(redis, prefix);
    await redis.quit();
    await rm(dir, { recursive: true, force: true });
  });

  async function statusOf(envelopeId: string): Promise<{ code: number; body: Partial<Seen> }> {
    const response = await fetch(`${url}/envelopes/${envelopeId}/status`);
    return { code: response.status, body: (await response.json()) as Partial<Seen> };
  }

  async function delivered(envelope: VerifiedEnvelope): Promise<void> {
    await enqueueDelivery(redis, prefix, envelope);
    await waitFor(
      async () => (await auditLines(auditFile)).some((l) => l.deliveryId === envelope.deliveryId),
      `the audit line of ${envelope.event.event}`,
    );
  }

  describe('envelope-status', () => {
    it('keeps the newest status when an older event arrives after a newer one', async () => {
      await delivered(await envelopeFromFixture('envelope-completed.json'));
      await waitFor(async () => (await statusOf(ENVELOPE)).code === 200, 'the status');
      expect((await statusOf(ENVELOPE)).body).toMatchObject({
        envelopeId: ENVELOPE,
        status: 'completed',
        event: 'envelope-completed',
      });

      // envelope-sent happened first but is delivered last
      const sent = await envelopeFromFixture('envelope-sent.json');
      await delivered(sent);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await statusOf(ENVELOPE)).body.status).toBe('completed');
    });

    it('records a status when events arrive in order', async () => {
      const voided = await envelopeFromFixture('envelope-voided.json');
      await delivered(voided);
      await waitFor(
        async () => (await statusOf(voided.event.envelopeId!)).code === 200,
        'the voided status',
      );
      expect((await statusOf(voided.event.envelopeId!)).body.status).toBe('voided');
    });

    it('answers 404 for an envelope never seen and 400 for something that is not an id', async () => {
      const unknown = await statusOf('00000000-0000-0000-0000-000000000000');
      expect(unknown).toEqual({
        code: 404,
        body: expect.objectContaining({ error: 'envelope_unknown' }),
      });
      const invalid = await statusOf('..%2F..%2Fetc');
      expect(invalid.code).toBe(400);
      expect(invalid.body.error).toBe('envelope_id_invalid');
    });

    it.each([
      ['a path', '..%2F..%2Fetc'],
      ['a Redis key pattern', '*'],
      ['a key with a separator', 'countersign%3Aenvelope-status%3A1'],
      ['letters and hyphens', 'not-an-envelope'],
      ['a GUID with a tail', `${ENVELOPE}0`],
      ['a GUID with a newline', `${ENVELOPE}%0A`],
      ['a GUID without hyphens', ENVELOPE.replaceAll('-', '')],
      ['a GUID with non-hex digits', 'g3a9c2d1-7b4e-4c8a-a1d6-5e2f8b0c9d37'],
      ['a long id', 'a'.repeat(64)],
    ])('refuses %s as an envelope id with 400, before Redis', async (_, envelopeId) => {
      const store = app.get(EnvelopeStatusStore);
      const read = jest.spyOn(store, 'get');
      try {
        expect(await statusOf(envelopeId)).toEqual({
          code: 400,
          body: {
            error: 'envelope_id_invalid',
            message: expect.stringContaining('envelopeId must be a DocuSign envelope id: a GUID'),
          },
        });
        expect(read).not.toHaveBeenCalled();
      } finally {
        read.mockRestore();
      }
    });

    it('accepts a GUID in capitals, as the XML format may carry it, and finds the same envelope', async () => {
      const lower = await statusOf(ENVELOPE);
      expect(lower.code).toBe(200);
      expect(await statusOf(ENVELOPE.toUpperCase())).toEqual(lower);
    });

    it('finds a status stored from lower-case id when asked in capitals, and the reverse', async () => {
      const store = app.get(EnvelopeStatusStore);
      const envelopeId = 'a1b2c3d4-0000-4000-8000-00000000abcd';
      const base = {
        event: 'envelope-sent',
        deliveryId: 'd-case',
        updatedAt: new Date().toISOString(),
      };
      await store.apply({
        ...base,
        envelopeId: envelopeId.toUpperCase(),
        status: 'sent',
        asOf: '2026-01-01T00:00:00Z',
      });
      expect((await statusOf(envelopeId)).body.status).toBe('sent');
      await store.apply({ ...base, envelopeId, status: 'completed', asOf: '2026-01-02T00:00:00Z' });
      expect((await statusOf(envelopeId.toUpperCase())).body.status).toBe('completed');
    });

    it.each(['constructor', 'toString', '__proto__', 'valueOf'])(
      'ranks a status named %s like an unknown one, so a later status at the same time still wins',
      async (odd) => {
        const store = app.get(EnvelopeStatusStore);
        const envelopeId = `b1b2c3d4-0000-4000-8000-${randomBytes(6).toString('hex')}`;
        const at = '2026-02-01T00:00:00Z';
        const base = {
          envelopeId,
          deliveryId: 'd-odd',
          updatedAt: new Date().toISOString(),
          asOf: at,
        };
        await expect(store.apply({ ...base, event: 'envelope-sent', status: odd })).resolves.toBe(
          true,
        );
        await expect(
          store.apply({ ...base, event: 'envelope-completed', status: 'completed' }),
        ).resolves.toBe(true);
        expect((await store.get(envelopeId))?.status).toBe('completed');
      },
    );

    it('never builds a key from something that is not an envelope id, whoever asks', async () => {
      await expect(app.get(EnvelopeStatusStore).get('x:*')).rejects.toThrow(RangeError);
    });
  });

  describe('document-archive', () => {
    it("writes the JSON fixture's PDFs as <envelopeId>/<documentId>-<name>.pdf", async () => {
      const pdfs = await fixturePdfs();
      await delivered(await envelopeFromFixture('envelope-completed-with-documents.json'));
      const envelopeDir = join(archiveDir, ENVELOPE);
      const pdfFiles = async () =>
        (await readdir(envelopeDir).catch(() => [])).filter((name) => !name.startsWith('.'));
      await waitFor(async () => (await pdfFiles()).length === 2, 'two PDFs');

      expect((await pdfFiles()).sort()).toEqual([
        '1-Master Services Agreement.pdf',
        'certificate-Summary.pdf',
      ]);
      const agreement = await readFile(join(envelopeDir, '1-Master Services Agreement.pdf'));
      expect(agreement.equals(pdfs.get('1')!)).toBe(true);
      expect(agreement.subarray(0, 4).toString('latin1')).toBe('%PDF');
    });

    it("writes the XML fixture's PDF, and running twice changes nothing", async () => {
      const xml = await readFile(join(FIXTURES, 'envelope-completed.xml'), 'utf8');
      const base64 = /<PDFBytes>([^<]+)<\/PDFBytes>/.exec(xml)![1].replace(/\s+/g, '');
      const envelopeDir = join(archiveDir, ENVELOPE);

      const first = await envelopeFromFixture('envelope-completed.xml');
      await delivered(first);
      await waitFor(
        async () =>
          (
            await readFile(join(envelopeDir, '1-Master Services Agreement.pdf')).catch(() =>
              Buffer.alloc(0),
            )
          ).equals(Buffer.from(base64, 'base64')),
        'the XML PDF',
      );
      const before = (await readdir(envelopeDir)).sort();

      // the same event delivered again with a new delivery id: a fresh job (new key), same files
      const again = { ...first, deliveryId: 'again', deliveryKey: `${first.deliveryKey}-again` };
      await delivered(again);
      expect((await readdir(envelopeDir)).sort()).toEqual(before);
    });

    it('reads a large payload from the payload store', async () => {
      const body = await readFile(join(FIXTURES, 'envelope-completed-with-documents.json'));
      const stored = await new DirectoryPayloadStore(payloadDir).put(body);
      const envelope = envelopeFromBody(body, 'application/json', {
        payload: { kind: 'stored', contentType: 'application/json', ...stored },
      });
      const large = {
        ...envelope,
        deliveryKey: `${envelope.deliveryKey}-stored`,
        event: { ...envelope.event, envelopeId: '5b0c4d2e-0000-4000-8000-00000000a11c' },
      };
      await delivered(large);
      await waitFor(
        async () =>
          (await readdir(join(archiveDir, large.event.envelopeId)).catch(() => [])).filter((name) =>
            name.endsWith('.pdf'),
          ).length === 2,
        'the PDFs read from the store',
      );
      const pdfs = await fixturePdfs();
      const written = await readFile(
        join(archiveDir, large.event.envelopeId, 'certificate-Summary.pdf'),
      );
      expect(written.equals(pdfs.get('certificate')!)).toBe(true);
    });
  });

  describe('audit-log', () => {
    it('writes one line per delivery key with the evidence and without the body', async () => {
      const lines = await auditLines(auditFile);
      const keys = lines.map((l) => l.deliveryKey);
      expect(new Set(keys).size).toBe(keys.length);
      const line = lines[0];
      expect(line.evidence.checks).toEqual(['mtls', 'hmac']);
      expect(line.evidence.certificate.thumbprint).toBe(
        'A4DtL2JmUMhAsvJj5tKyn64SqzmuXbMrJa0n761y5v0',
      );
      expect(line.payload).toEqual({
        contentType: expect.any(String),
        sha256: expect.any(String),
        size: expect.any(Number),
      });
      expect(line.event.data).toBeUndefined();
      expect(JSON.stringify(lines)).not.toContain('PDFBytes');
    });

    it('does not write a second line when the same delivery key is handled again', async () => {
      const consumer = app.get(AuditLogConsumer);
      const envelope = await envelopeFromFixture('unknown-event.json');
      const handed = {
        event: envelope.event,
        evidence: envelope.evidence,
        deliveryId: envelope.deliveryId,
        deliveryKey: envelope.deliveryKey,
        profile: envelope.profile,
        receivedAt: envelope.receivedAt,
        attempt: 1,
        payload: { contentType: 'application/json', sha256: 'x', size: 1 },
        loadPayload: () => Promise.resolve(Buffer.alloc(0)),
      };
      await consumer.handle(handed);
      await consumer.handle({ ...handed, attempt: 2 });
      const count = (await auditLines(auditFile)).filter(
        (l) => l.deliveryKey === envelope.deliveryKey,
      ).length;
      expect(count).toBe(1);
    });

    it('finds its own line after a crash between writing it and marking it written', async () => {
      const consumer = app.get(AuditLogConsumer);
      const envelope = await envelopeFromFixture('template-modified.json');
      const handed = {
        event: envelope.event,
        evidence: envelope.evidence,
        deliveryId: envelope.deliveryId,
        deliveryKey: `${envelope.deliveryKey}-crash`,
        profile: envelope.profile,
        receivedAt: envelope.receivedAt,
        attempt: 1,
        payload: { contentType: 'application/json', sha256: 'x', size: 1 },
        loadPayload: () => Promise.resolve(Buffer.alloc(0)),
      };
      await consumer.handle(handed);
      // pretend the first attempt died before its "written" mark
      const markers = await redis.keys(`${prefix}:audit-log:*`);
      for (const marker of markers) await redis.set(marker, 'writing');
      // and that an earlier crash left a torn line at the end of the file
      await writeFile(auditFile, '{"torn":', { flag: 'a' });

      await consumer.handle({ ...handed, attempt: 2 });
      const other = { ...handed, deliveryKey: `${envelope.deliveryKey}-after-torn` };
      await consumer.handle(other);

      const text = await readFile(auditFile, 'utf8');
      const parsed = text
        .split('\n')
        .filter((line) => line && line !== '{"torn":')
        .map((line) => JSON.parse(line) as Seen);
      expect(parsed.filter((l) => l.deliveryKey === handed.deliveryKey)).toHaveLength(1);
      expect(parsed.filter((l) => l.deliveryKey === other.deliveryKey)).toHaveLength(1);
    });
  });
});
