import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { redisOptionsFromUrl } from '@countersign/common';
import { parseConnectDelivery } from '@countersign/connect';
import { Redis } from 'ioredis';

import {
  DEMO_ATTACKS,
  formatDemoTable,
  runDemo,
  type DemoReport,
} from '../../tools/stack/demo-runner.js';

const FIXTURES = 'test/fixtures/connect';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The demo's path end to end: the built apps (dist/) as child processes, real HTTPS with the dev
 * PKI, real Redis, the simulator in-process. `npm test` builds dist/ first.
 */
describe('npm run demo', () => {
  let dir: string;
  let report: DemoReport;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-demo-'));
    report = await runDemo({ dir, say: () => undefined, consumeTimeoutMs: 20_000 });
    // the table is what a person reads; keep it in the test output when something fails
    if (!report.ok) console.log(formatDemoTable(report));
  }, 90_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const genuine = () => report.rows.filter((row) => row.kind === 'genuine');
  const row = (name: string) => report.rows.find((candidate) => candidate.delivery === name);

  it('delivers every fixture over mTLS, a bound token and HMAC, and every one is consumed', () => {
    expect(genuine().map((r) => r.delivery)).toEqual([
      'envelope-completed-retry.json',
      'envelope-completed-with-documents.json',
      'envelope-completed.json',
      'envelope-completed.xml',
      'envelope-declined.json',
      'envelope-sent.json',
      'envelope-sent.xml',
      'envelope-voided.json',
      'recipient-completed-pretty-crlf.json',
      'recipient-completed.json',
      'template-modified.json',
      'unknown-event.json',
    ]);
    for (const delivery of genuine()) {
      expect({ delivery: delivery.delivery, status: delivery.status, ok: delivery.ok }).toEqual({
        delivery: delivery.delivery,
        status: 200,
        ok: true,
      });
    }
    expect(report.ok).toBe(true);
  });

  it('answers a redelivery of the same event as a duplicate, and enqueues the rest', () => {
    // files are sent in name order: the retry fixture goes first, its original second
    const answers = genuine().map((r) => r.answer);
    expect(answers.filter((answer) => answer === 'duplicate')).toHaveLength(1);
    expect(answers.filter((answer) => answer === 'enqueued')).toHaveLength(11);
    expect(row('envelope-completed.json')?.answer).toBe('duplicate');
  });

  it('records every consumed delivery in the audit log', () => {
    for (const delivery of genuine()) {
      expect([delivery.delivery, delivery.consumers['audit-log']]).toEqual([
        delivery.delivery,
        expect.stringMatching(/^recorded/),
      ]);
    }
  });

  it('archives the PDFs carried by the completed envelopes, JSON and XML', async () => {
    for (const name of ['envelope-completed-with-documents.json', 'envelope-completed.xml']) {
      const body = await readFile(join(FIXTURES, name));
      const parsed = parseConnectDelivery(
        body,
        name.endsWith('.xml') ? 'text/xml' : 'application/json',
      );
      const count = parsed.ok ? parsed.event.documents.length : -1;
      expect(count).toBeGreaterThan(0);
      expect(row(name)?.consumers['document-archive']).toBe(`${count}/${count} PDF archived`);
    }
    expect(row('envelope-sent.json')?.consumers['document-archive']).toBe('-');
  });

  it('sends bodies over the inline limit through the payload store', () => {
    // bodies over the demo's 2 KiB inline limit travel through the payload store
    expect(row('envelope-completed-with-documents.json')?.consumers['audit-log']).toBe(
      'recorded (body in payload store)',
    );
    expect(row('template-modified.json')?.consumers['audit-log']).toBe('recorded');
  });

  it('keeps the newest envelope status and leaves templates to the consumers that want them', () => {
    expect(row('envelope-sent.json')?.consumers['envelope-status']).toBe('now completed');
    expect(row('envelope-voided.json')?.consumers['envelope-status']).toMatch(
      /^now (voided|declined)$/,
    );
    expect(row('template-modified.json')?.consumers['envelope-status']).toBe('-');
  });

  it('refuses every attack with the reason of the layer that caught it', () => {
    const attacks = report.rows.filter((r) => r.kind === 'attack');
    expect(attacks).toHaveLength(DEMO_ATTACKS.length);
    for (const attack of attacks) {
      expect({ delivery: attack.delivery, status: attack.status, answer: attack.answer }).toEqual({
        delivery: attack.delivery,
        status: 401,
        answer: attack.expectedReason,
      });
      expect(attack.ok).toBe(true);
    }
  });

  it('reuses one token for all genuine deliveries', () => {
    expect(report.tokenRequests).toBe(1);
  });

  it('deletes the Redis keys of its own run', async () => {
    const redis = new Redis({ ...redisOptionsFromUrl(REDIS_URL), lazyConnect: true });
    try {
      await redis.connect();
      const [, keys] = await redis.scan('0', 'MATCH', `${report.queuePrefix}:*`, 'COUNT', 10_000);
      expect(keys).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
