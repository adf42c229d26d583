import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import { parseConnectDelivery } from '@countersign/connect';
import type { QuarantinedDelivery, VerifiedEnvelope } from '@countersign/queue';
import type { ListenerSettings } from '../config/listener-settings.js';
import type { DeliveryProfile } from '../profiles/delivery-profile.js';
import { ListenerMetrics } from '../metrics/listener-metrics.js';
import { DeliveryRejection } from '../rejection/delivery-rejection.js';
import type { DeliveryContext } from './delivery-context.js';
import { DeliveryIntakeService } from './delivery-intake.service.js';
import type { DeliveryQueues } from './delivery-queues.js';

const MIB = 1024 * 1024;
const JSON_TYPE = 'application/json; charset=utf-8';
const FIXTURES = join(process.cwd(), 'test/fixtures/connect');

/** The documents fixture with its one PDF replaced by `pdfBytes` (base64). */
function withPdf(pdfBytes: string): Buffer {
  const fixture = JSON.parse(
    readFileSync(join(FIXTURES, 'envelope-completed-with-documents.json'), 'utf8'),
  ) as { data: { envelopeSummary: { envelopeDocuments: { PDFBytes?: string }[] } } };
  const documents = fixture.data.envelopeSummary.envelopeDocuments;
  const withBytes = documents.find((document) => document.PDFBytes !== undefined);
  if (withBytes === undefined) throw new Error('the fixture carries no PDF');
  withBytes.PDFBytes = pdfBytes;
  return Buffer.from(JSON.stringify(fixture));
}

/** Counts event-loop turns (setImmediate callbacks) until `work` settles. */
async function turnsDuring<T>(work: () => Promise<T>): Promise<number> {
  let turns = 0;
  let settled = false;
  const spin = () => {
    if (settled) return;
    turns += 1;
    setImmediate(spin);
  };
  setImmediate(spin);
  try {
    await work();
  } finally {
    settled = true;
  }
  return turns;
}

describe('DeliveryIntakeService', () => {
  const pdfBase64 = randomBytes(6 * MIB).toString('base64');
  let dir: string;
  let enqueued: VerifiedEnvelope[];
  let quarantined: QuarantinedDelivery[];
  let intake: DeliveryIntakeService;

  function delivery(): DeliveryContext & { profile: DeliveryProfile } {
    return {
      deliveryId: `delivery-${randomBytes(4).toString('hex')}`,
      receivedAt: new Date('2026-12-03T10:00:00.000Z'),
      profile: { name: 'signed', checks: ['hmac'] },
      passed: ['hmac'],
      hmac: { keyId: 'k', header: 1 },
    };
  }

  beforeAll(async () => {
    Logger.overrideLogger(false);
    dir = await mkdtemp(join(tmpdir(), 'cs-intake-'));
  });
  afterAll(async () => {
    Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']);
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    enqueued = [];
    quarantined = [];
    const queues = {
      enqueueEnvelope: (envelope: VerifiedEnvelope) => {
        enqueued.push(envelope);
        return Promise.resolve('enqueued' as const);
      },
      enqueueQuarantined: (item: QuarantinedDelivery) => {
        quarantined.push(item);
        return Promise.resolve();
      },
    } as unknown as DeliveryQueues;
    // every body stays inline: the only pause in an intake is then the parse's own
    const settings = {
      env: { LISTENER_INLINE_PAYLOAD_MAX_BYTES: 64 * MIB, LISTENER_PAYLOAD_DIR: dir },
    } as unknown as ListenerSettings;
    intake = new DeliveryIntakeService(settings, queues, new ListenerMetrics(new Registry()));
  });

  it('lets other deliveries run while it parses a body over 1 MiB', async () => {
    const body = withPdf(pdfBase64);
    expect(body.length).toBeGreaterThan(8 * MIB);

    const turns = await turnsDuring(() => intake.accept(delivery(), body, JSON_TYPE));

    expect(enqueued).toHaveLength(1);
    // decoding, parsing and the PDF's base64 each end a step
    expect(turns).toBeGreaterThanOrEqual(3);
  });

  it('enqueues a large body with the event parseConnectDelivery reads', async () => {
    const body = withPdf(pdfBase64);
    const expected = parseConnectDelivery(body, JSON_TYPE);
    if (!expected.ok) throw new Error(`the body does not parse: ${expected.reason}`);

    const receipt = await intake.accept(delivery(), body, JSON_TYPE);

    expect(receipt.status).toBe('enqueued');
    expect(enqueued[0].event).toEqual(expected.event);
    expect(enqueued[0].payload).toMatchObject({ kind: 'inline', size: body.length });
  });

  it('reads a small fixture at once, to the event parseConnectDelivery reads', async () => {
    const body = readFileSync(join(FIXTURES, 'envelope-completed.json'));
    const expected = parseConnectDelivery(body, JSON_TYPE);
    if (!expected.ok) throw new Error(`the fixture does not parse: ${expected.reason}`);

    await intake.accept(delivery(), body, JSON_TYPE);

    expect(enqueued[0].event).toEqual(expected.event);
  });

  it.each([
    ['cut short', () => withPdf(pdfBase64).subarray(0, 3 * MIB)],
    ['with a spoiled PDF', () => withPdf(`${pdfBase64.slice(0, 2 * MIB)}!!!!`)],
    ['that is only whitespace', () => Buffer.alloc(2 * MIB, ' ')],
  ])(
    'quarantines a large body %s with the reason and detail parseConnectDelivery gives',
    async (_label, makeBody) => {
      const body = makeBody();
      const expected = parseConnectDelivery(body, JSON_TYPE);
      if (expected.ok) throw new Error('the body parses');

      const refused = intake.accept(delivery(), body, JSON_TYPE);

      await expect(refused).rejects.toBeInstanceOf(DeliveryRejection);
      await expect(refused).rejects.toMatchObject({
        reason: expected.reason,
        detail: `${expected.detail} (kept in quarantine)`,
      });
      expect(enqueued).toHaveLength(0);
      expect(quarantined).toHaveLength(1);
      expect(quarantined[0]).toMatchObject({ reason: expected.reason, detail: expected.detail });
    },
  );

  it('refuses a large body of another media type as parseConnectDelivery does, unkept', async () => {
    const body = withPdf(pdfBase64);
    const expected = parseConnectDelivery(body, 'text/plain');
    if (expected.ok) throw new Error('the body parses as text/plain');

    const refused = intake.accept(delivery(), body, 'text/plain');

    await expect(refused).rejects.toMatchObject({
      reason: 'body_unsupported_media_type',
      detail: expected.detail,
    });
    expect(quarantined).toHaveLength(0);
  });
});
