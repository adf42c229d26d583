import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DirectoryPayloadStore,
  JOB_NAMES,
  QUARANTINE_QUEUE,
  queuePrefix,
  type PayloadRef,
  type QuarantinedDelivery,
} from '@countersign/queue';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { runDeadLettersCli } from '../../apps/worker/src/dead-letters/dead-letters.cli.js';
import {
  deleteKeys,
  REDIS_URL,
  redisClient,
  TEST_EVIDENCE,
  uniquePrefix,
} from './worker-harness.js';

const MALFORMED = Buffer.from('{"event": "envelope-sent", "data": {');
// bytes that are not UTF-8 text, to show the body comes back exactly
const BINARY = Buffer.from([0x3c, 0x3f, 0x78, 0x6d, 0x6c, 0xff, 0xfe, 0x00, 0x80, 0x0a]);

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('base64url');
}

function inline(body: Buffer, contentType = 'application/json'): PayloadRef {
  return {
    kind: 'inline',
    contentType,
    base64: body.toString('base64'),
    sha256: sha256(body),
    size: body.length,
  };
}

function quarantined(
  deliveryId: string,
  payload: PayloadRef,
  overrides: Partial<QuarantinedDelivery> = {},
): QuarantinedDelivery {
  return {
    version: 1,
    deliveryId,
    profile: 'docusign',
    receivedAt: '2026-11-20T10:00:00.000Z',
    reason: 'body_malformed_json',
    detail: 'unexpected end of JSON input',
    evidence: TEST_EVIDENCE,
    payload,
    ...overrides,
  };
}

describe('dead-letters quarantine', () => {
  let prefix: string;
  let redis: Redis;
  let queue: Queue<QuarantinedDelivery>;
  let payloadDir: string;
  let storedBody: Buffer;

  interface CliResult {
    code: number;
    out: string;
    err: string;
    bytes: Buffer;
  }

  async function cli(argv: string[], env: Record<string, string> = {}): Promise<CliResult> {
    let out = '';
    let err = '';
    const chunks: Buffer[] = [];
    const code = await runDeadLettersCli(argv, {
      env: { REDIS_URL, QUEUE_PREFIX: prefix, ...env },
      out: (text) => (out += text),
      err: (text) => (err += text),
      outBytes: (bytes) => chunks.push(Buffer.from(bytes)),
    });
    return { code, out, err, bytes: Buffer.concat(chunks) };
  }

  async function listed(...options: string[]): Promise<Record<string, unknown>[]> {
    const { out } = await cli(['quarantine', 'list', '--json', ...options]);
    return out
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** What the listener does: the delivery id is the job id. */
  async function quarantine(delivery: QuarantinedDelivery): Promise<void> {
    await queue.add(JOB_NAMES.quarantinedDelivery, delivery, { jobId: delivery.deliveryId });
  }

  beforeAll(async () => {
    prefix = uniquePrefix();
    redis = redisClient();
    payloadDir = await mkdtemp(join(tmpdir(), 'cs-quarantine-'));
    queue = new Queue<QuarantinedDelivery>(QUARANTINE_QUEUE, {
      connection: redis,
      prefix: queuePrefix(prefix, QUARANTINE_QUEUE),
    });

    storedBody = Buffer.concat([
      Buffer.from('<?xml version="1.0"?><DocuSignEnvelopeInformation>'),
      Buffer.alloc(4096, 0x41),
    ]);
    const stored = await new DirectoryPayloadStore(payloadDir).put(storedBody);
    await quarantine(
      quarantined(
        'q-newest',
        { kind: 'stored', contentType: 'text/xml', ...stored },
        {
          profile: 'docusign-xml',
          receivedAt: '2026-11-20T12:00:00.000Z',
          reason: 'body_malformed_xml',
          detail: 'unclosed tag: DocuSignEnvelopeInformation\nat line 1',
        },
      ),
    );
    await quarantine(quarantined('q-oldest', inline(MALFORMED)));
    await quarantine(
      quarantined('q-binary', inline(BINARY, 'text/xml'), {
        receivedAt: '2026-11-20T11:00:00.000Z',
        reason: 'body_not_utf8',
        detail: 'the body is not UTF-8',
      }),
    );
  });

  afterAll(async () => {
    await queue.close();
    await deleteKeys(redis, prefix);
    await redis.quit();
    await rm(payloadDir, { recursive: true, force: true });
  });

  it('lists quarantined deliveries oldest first, with their profile, reason and size', async () => {
    const result = await cli(['quarantine', 'list']);

    expect(result.code).toBe(0);
    expect(result.out.split('\n').filter(Boolean)).toEqual([
      'q-oldest  docusign  2026-11-20T10:00:00.000Z  body_malformed_json  ' +
        `${MALFORMED.length} bytes  unexpected end of JSON input`,
      `q-binary  docusign  2026-11-20T11:00:00.000Z  body_not_utf8  ${BINARY.length} bytes  the body is not UTF-8`,
      'q-newest  docusign-xml  2026-11-20T12:00:00.000Z  body_malformed_xml  ' +
        `${storedBody.length} bytes  unclosed tag: DocuSignEnvelopeInformation`,
      `3 quarantined delivery(ies) under QUEUE_PREFIX=${prefix}`,
    ]);
    expect(result.out).not.toContain(MALFORMED.toString('utf8'));
  });

  it('lists as JSON lines, at most --limit of them, of one --profile', async () => {
    expect((await listed()).map((row) => row.id)).toEqual(['q-oldest', 'q-binary', 'q-newest']);
    expect(await listed('--limit', '2')).toEqual([
      expect.objectContaining({ id: 'q-oldest', reason: 'body_malformed_json' }),
      expect.objectContaining({ id: 'q-binary', reason: 'body_not_utf8' }),
    ]);
    expect((await listed('--profile', 'docusign-xml')).map((row) => row.id)).toEqual(['q-newest']);
  });

  it('refuses a --limit that is not a whole number of at least 1', async () => {
    for (const limit of ['0', '-1', 'two', '1.5']) {
      const result = await cli(['quarantine', 'list', '--limit', limit]);
      expect([limit, result.code]).toEqual([limit, 1]);
      expect(result.err).toContain('must be a whole number of at least 1');
    }
  });

  it("shows the reason, detail, profile, time, evidence and the body's size and SHA-256, not the body", async () => {
    const result = await cli(['quarantine', 'show', 'q-oldest']);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toEqual({
      id: 'q-oldest',
      deliveryId: 'q-oldest',
      profile: 'docusign',
      receivedAt: '2026-11-20T10:00:00.000Z',
      reason: 'body_malformed_json',
      detail: 'unexpected end of JSON input',
      evidence: TEST_EVIDENCE,
      body: {
        kind: 'inline',
        contentType: 'application/json',
        size: MALFORMED.length,
        sha256: sha256(MALFORMED),
        sha256Hex: createHash('sha256').update(MALFORMED).digest('hex'),
      },
    });
    expect(result.out).not.toContain(MALFORMED.toString('base64'));
    expect(result.out).not.toContain('"event": "envelope-sent"');
    expect(result.bytes.length).toBe(0);
  });

  it('writes the exact body bytes to stdout with --body, and the description to stderr', async () => {
    const result = await cli(['quarantine', 'show', 'q-binary', '--body']);

    expect(result.code).toBe(0);
    expect(result.bytes.equals(BINARY)).toBe(true);
    expect(result.out).toBe('');
    expect(JSON.parse(result.err)).toMatchObject({
      id: 'q-binary',
      reason: 'body_not_utf8',
      body: { size: BINARY.length, sha256: sha256(BINARY) },
    });
  });

  it('reads a body kept in the payload store from WORKER_PAYLOAD_DIR', async () => {
    const shown = await cli(['quarantine', 'show', 'q-newest']);
    expect(JSON.parse(shown.out).body).toMatchObject({
      kind: 'stored',
      size: storedBody.length,
      ref: `${sha256(storedBody)}.bin`,
    });

    const body = await cli(['quarantine', 'show', 'q-newest', '--body'], {
      WORKER_PAYLOAD_DIR: payloadDir,
    });
    expect(body.code).toBe(0);
    expect(body.bytes.equals(storedBody)).toBe(true);
  });

  it('names WORKER_PAYLOAD_DIR when a stored body is asked for without it (exit 2)', async () => {
    const result = await cli(['quarantine', 'show', 'q-newest', '--body']);

    expect(result.code).toBe(2);
    expect(result.err).toContain('WORKER_PAYLOAD_DIR');
    expect(result.bytes.length).toBe(0);
  });

  it('writes no byte of a body that does not match its recorded SHA-256', async () => {
    const tampered = {
      ...inline(MALFORMED),
      base64: Buffer.from('{"other": 1}').toString('base64'),
    };
    await quarantine(
      quarantined('q-tampered', tampered, { receivedAt: '2026-11-20T13:00:00.000Z' }),
    );

    const result = await cli(['quarantine', 'show', 'q-tampered', '--body']);
    expect(result.code).toBe(1);
    expect(result.err).toContain('the body cannot be read back');
    expect(result.bytes.length).toBe(0);
    expect((await cli(['quarantine', 'delete', 'q-tampered'])).code).toBe(0);
  });

  it('deletes one quarantined delivery, and then knows it no more', async () => {
    const deleted = await cli(['quarantine', 'delete', 'q-oldest']);
    expect(deleted).toMatchObject({ code: 0, out: 'deleted quarantined delivery q-oldest\n' });
    expect((await listed()).map((row) => row.id)).toEqual(['q-binary', 'q-newest']);

    const again = await cli(['quarantine', 'delete', 'q-oldest']);
    expect(again.code).toBe(1);
    expect(again.err).toContain('no quarantined delivery with id q-oldest');
    const shown = await cli(['quarantine', 'show', 'q-oldest']);
    expect(shown.code).toBe(1);
    expect(shown.err).toContain('no quarantined delivery with id q-oldest');
  });

  it('says that a deleted delivery leaves its stored body in the shared payload store', async () => {
    const deleted = await cli(['quarantine', 'delete', 'q-newest']);

    expect(deleted.code).toBe(0);
    expect(deleted.out).toContain(
      `its body stays in the payload store as ${sha256(storedBody)}.bin`,
    );
    expect((await listed()).map((row) => row.id)).toEqual(['q-binary']);
  });
});
