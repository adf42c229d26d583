import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { Inject, Logger } from '@nestjs/common';
import { ConfigurationError } from '@countersign/common';
import { DEDUPE_WINDOW_MS } from '@countersign/queue';
import type { WorkerConfig } from '../../config/worker.config.js';
import { ConnectConsumer } from '../../consumer/connect-consumer.decorator.js';
import type {
  ConnectConsumerHandler,
  ConsumerEnvelope,
} from '../../consumer/connect-consumer-handler.js';
import type { RedisConnection } from '../../redis/redis-connection.js';
import { REDIS_CONNECTION, WORKER_CONFIG } from '../../worker.tokens.js';

/** One line of the audit log. The evidence holds what the checks proved, never a credential. */
export interface AuditRecord {
  readonly recordedAt: string;
  readonly deliveryId: string;
  readonly deliveryKey: string;
  readonly profile: string;
  readonly receivedAt: string;
  readonly event: Omit<ConsumerEnvelope['event'], 'data'>;
  readonly evidence: ConsumerEnvelope['evidence'];
  readonly payload: ConsumerEnvelope['payload'];
}

/**
 * Appends every verified envelope, with its evidence, to a JSON-lines file: one line per delivery
 * key. A Redis marker says whether a key's line was written; when an earlier attempt died between
 * writing and marking, the file itself is searched before writing again.
 */
// several lines in flight: each is one O_APPEND write and its own fsync, as between processes
@ConnectConsumer({ name: 'audit-log', events: ['*'], concurrency: 8 })
export class AuditLogConsumer implements ConnectConsumerHandler {
  private readonly logger = new Logger(AuditLogConsumer.name);

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(REDIS_CONNECTION) private readonly redis: RedisConnection,
  ) {}

  async onConsumerStart(): Promise<void> {
    if (!this.config.auditLogFile) {
      throw new ConfigurationError('environment', [
        'WORKER_AUDIT_LOG_FILE: required when the audit-log consumer runs',
      ]);
    }
    await mkdir(dirname(this.config.auditLogFile), { recursive: true });
    await (await open(this.config.auditLogFile, 'a', 0o640)).close();
  }

  async handle(envelope: ConsumerEnvelope): Promise<void> {
    const file = this.config.auditLogFile;
    if (!file) throw new Error('WORKER_AUDIT_LOG_FILE is not set');
    const marker = `${this.config.queuePrefix}:audit-log:${createHash('sha256').update(envelope.deliveryKey).digest('base64url')}`;
    const ttlMs = DEDUPE_WINDOW_MS;

    const state = await this.redis.get(marker);
    if (state === 'written') return;
    if (state === 'writing' && (await this.fileHasKey(file, envelope.deliveryKey))) {
      await this.redis.set(marker, 'written', 'PX', ttlMs);
      return;
    }

    await this.redis.set(marker, 'writing', 'PX', ttlMs);
    await this.append(file, this.record(envelope));
    await this.redis.set(marker, 'written', 'PX', ttlMs);
    this.logger.log({ msg: 'delivery audited', deliveryId: envelope.deliveryId });
  }

  private record(envelope: ConsumerEnvelope): AuditRecord {
    const event = Object.fromEntries(
      Object.entries(envelope.event).filter(([field]) => field !== 'data'),
    ) as AuditRecord['event'];
    return {
      recordedAt: new Date().toISOString(),
      deliveryId: envelope.deliveryId,
      deliveryKey: envelope.deliveryKey,
      profile: envelope.profile,
      receivedAt: envelope.receivedAt,
      event,
      evidence: envelope.evidence,
      payload: envelope.payload,
    };
  }

  private async append(file: string, record: AuditRecord): Promise<void> {
    // one write() of a whole line on an O_APPEND descriptor: processes sharing the file never interleave
    const handle = await open(file, 'a+', 0o640);
    try {
      await this.endTornLine(handle);
      await handle.write(`${JSON.stringify(record)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** After a crash mid-write the file may end inside a line; the next line must start afresh. */
  private async endTornLine(handle: FileHandle): Promise<void> {
    const { size } = await handle.stat();
    if (size === 0) return;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    if (last[0] !== 0x0a) await handle.write('\n');
  }

  private async fileHasKey(file: string, deliveryKey: string): Promise<boolean> {
    const needle = JSON.stringify(deliveryKey);
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line.includes(needle)) continue;
      try {
        if ((JSON.parse(line) as Partial<AuditRecord>).deliveryKey === deliveryKey) return true;
      } catch {
        // a torn last line from a crash mid-write; it does not count as written
      }
    }
    return false;
  }
}
