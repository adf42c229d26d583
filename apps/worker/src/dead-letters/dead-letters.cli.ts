import { ConfigurationError } from '@countersign/common';
import { DirectoryPayloadStore, PayloadStoreError, queuePrefix } from '@countersign/queue';
import { Queue } from 'bullmq';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { loadCliConfig } from '../config/worker.config.js';
import { loadPayload, PayloadUnavailableError } from '../consumer/payload-loader.js';
import {
  QuarantinedDeliveryNotFoundError,
  QuarantineStore,
  type QuarantineEntry,
} from '../quarantine/quarantine-store.js';
import {
  closeRedisConnection,
  createRedisConnection,
  type RedisConnection,
} from '../redis/redis-connection.js';
import {
  DeadLetterConsumerMismatchError,
  DeadLetterNotFoundError,
  DeadLetterStore,
  type DeadLetterEntry,
} from './dead-letter-store.js';

/** Where the CLI writes; the process's streams, or buffers in tests. */
export interface CliIo {
  readonly env: Record<string, string | undefined>;
  out(text: string): void;
  err(text: string): void;
  /** Raw bytes to standard output (`quarantine show --body`). */
  outBytes?(bytes: Uint8Array): void;
}

const USAGE = 'dead-letters.usage';

/** How long the CLI waits for Redis to be ready before it gives up (exit 2). */
const REDIS_READY_TIMEOUT_MS = 5000;

/** Resolves true once the connection is ready, false after `ms` (Redis down, a wrong address). */
function readyWithin(redis: RedisConnection, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, ms);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}

function summary({ id, letter }: DeadLetterEntry) {
  return {
    id,
    consumer: letter.consumer,
    event: letter.envelope.event.event,
    envelopeId: letter.envelope.event.envelopeId ?? null,
    deliveryId: letter.envelope.deliveryId,
    attemptsMade: letter.attemptsMade,
    failedAt: letter.failedAt,
    error: letter.error,
  };
}

function detail(entry: DeadLetterEntry) {
  const { letter } = entry;
  const { payload } = letter.envelope;
  return {
    ...summary(entry),
    originalJobId: letter.originalJobId,
    deliveryKey: letter.envelope.deliveryKey,
    profile: letter.envelope.profile,
    receivedAt: letter.envelope.receivedAt,
    evidence: letter.envelope.evidence,
    payload: {
      kind: payload.kind,
      contentType: payload.contentType,
      sha256: payload.sha256,
      size: payload.size,
    },
    retry: letter.retry,
  };
}

function quarantineSummary({ id, delivery }: QuarantineEntry) {
  return {
    id,
    profile: delivery.profile,
    receivedAt: delivery.receivedAt,
    reason: delivery.reason,
    detail: delivery.detail,
    size: delivery.payload.size,
  };
}

function quarantineDetail(entry: QuarantineEntry) {
  const { delivery } = entry;
  const { payload } = delivery;
  return {
    id: entry.id,
    deliveryId: delivery.deliveryId,
    profile: delivery.profile,
    receivedAt: delivery.receivedAt,
    reason: delivery.reason,
    detail: delivery.detail,
    evidence: delivery.evidence,
    body: {
      kind: payload.kind,
      contentType: payload.contentType,
      size: payload.size,
      sha256: payload.sha256,
      // what `sha256sum` prints, to compare with a saved copy of the body
      sha256Hex: Buffer.from(payload.sha256, 'base64url').toString('hex'),
      ...(payload.kind === 'stored' && { ref: payload.ref }),
    },
  };
}

function parseLimit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new InvalidArgumentError('must be a whole number of at least 1');
  }
  return Number(value);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

/**
 * `dead-letters list|show <id>|replay <id>|replay --all` and `dead-letters quarantine
 * list|show <id>|delete <id>`: returns the exit code (0 done, 1 not found or bad usage, 2
 * configuration or Redis trouble).
 */
export async function runDeadLettersCli(argv: readonly string[], io: CliIo): Promise<number> {
  let settings;
  try {
    settings = loadCliConfig(io.env);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      io.err(`dead-letters: ${error.message}\n`);
      return 2;
    }
    throw error;
  }

  const redis = createRedisConnection(settings.redis, { name: 'dead-letters-cli' });
  const queues = new Map<string, Queue>();
  const queueFor = (name: string) => {
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: redis,
        prefix: queuePrefix(settings.queuePrefix, name),
      });
      // without a listener BullMQ prints every connection error with its stack to stderr
      queue.on('error', () => undefined);
      queues.set(name, queue);
    }
    return queue;
  };
  const store = new DeadLetterStore(queueFor);
  const quarantine = new QuarantineStore(queueFor);

  const program = new Command('dead-letters')
    .description(
      'List, inspect and replay consumer jobs that used up their attempts, and inspect the ' +
        "listener's quarantine",
    )
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) });

  // every command needs Redis: wait for it, bounded, once the arguments are known to be right
  program.hook('preAction', async () => {
    if (await readyWithin(redis, REDIS_READY_TIMEOUT_MS)) return;
    const where = settings.redis.mode === 'single' ? 'REDIS_URL' : 'REDIS_CLUSTER_NODES';
    throw new ConfigurationError('environment', [
      `${where}: Redis did not answer within ${REDIS_READY_TIMEOUT_MS / 1000} s`,
    ]);
  });

  program
    .command('list')
    .description('list dead letters, oldest first')
    .option('--consumer <name>', 'only this consumer')
    .option('--limit <n>', 'at most n dead letters (the oldest)', parseLimit)
    .option('--json', 'one JSON object per line')
    .action(async (options: { consumer?: string; limit?: number; json?: boolean }) => {
      const entries = await store.list({ consumer: options.consumer, limit: options.limit });
      for (const entry of entries) {
        const row = summary(entry);
        io.out(
          options.json
            ? `${JSON.stringify(row)}\n`
            : `${row.id}  ${row.consumer}  ${row.event}  ${row.deliveryId}  attempts=${row.attemptsMade}  ${row.failedAt}  ${firstLine(row.error)}\n`,
        );
      }
      if (!options.json)
        io.out(`${entries.length} dead letter(s) under QUEUE_PREFIX=${settings.queuePrefix}\n`);
    });

  program
    .command('show')
    .description('show one dead letter (never the body itself)')
    .argument('<id>', 'dead letter id from list')
    .action(async (id: string) => {
      io.out(`${JSON.stringify(detail(await store.show(id)), null, 2)}\n`);
    });

  program
    .command('replay')
    .description("put one dead letter, or all, back on its consumer's queue")
    .argument('[id]', 'dead letter id from list')
    .option('--all', 'replay every dead letter')
    .option(
      '--consumer <name>',
      "only this consumer's dead letters (with an id: refuse one of another consumer)",
    )
    .action(async (id: string | undefined, options: { all?: boolean; consumer?: string }) => {
      if ((id === undefined) === !options.all) {
        throw new CommanderError(1, USAGE, 'replay needs an id or --all (not both)');
      }
      const replayed = id
        ? [await store.replay(id, { consumer: options.consumer })]
        : await store.replayAll({ consumer: options.consumer });
      for (const entry of replayed) {
        io.out(`replayed ${entry.id} to ${entry.consumer} as job ${entry.jobId}\n`);
      }
      io.out(`${replayed.length} dead letter(s) replayed\n`);
    });

  const quarantined = program
    .command('quarantine')
    .description('deliveries that passed authentication but whose body could not be parsed');

  quarantined
    .command('list')
    .description('list quarantined deliveries, oldest first')
    .option('--profile <name>', 'only deliveries received on this listener profile')
    .option('--limit <n>', 'at most n deliveries (the oldest)', parseLimit)
    .option('--json', 'one JSON object per line')
    .action(async (options: { profile?: string; limit?: number; json?: boolean }) => {
      const entries = await quarantine.list({ profile: options.profile, limit: options.limit });
      for (const entry of entries) {
        const row = quarantineSummary(entry);
        io.out(
          options.json
            ? `${JSON.stringify(row)}\n`
            : `${row.id}  ${row.profile}  ${row.receivedAt}  ${row.reason}  ${row.size} bytes  ${firstLine(row.detail)}\n`,
        );
      }
      if (!options.json)
        io.out(
          `${entries.length} quarantined delivery(ies) under QUEUE_PREFIX=${settings.queuePrefix}\n`,
        );
    });

  quarantined
    .command('show')
    .description(
      'show one quarantined delivery: reason, detail, profile, evidence, the size and SHA-256 of ' +
        'its body; with --body, the body itself',
    )
    .argument('<id>', 'delivery id from quarantine list')
    .option('--body', 'write the exact body bytes to stdout (the description goes to stderr)')
    .action(async (id: string, options: { body?: boolean }) => {
      const entry = await quarantine.show(id);
      const description = `${JSON.stringify(quarantineDetail(entry), null, 2)}\n`;
      if (!options.body) {
        io.out(description);
        return;
      }

      const { payload } = entry.delivery;
      if (payload.kind === 'stored' && settings.payloadDir === undefined) {
        throw new ConfigurationError('environment', [
          `WORKER_PAYLOAD_DIR: required to read the body of ${id}, kept in the payload store`,
        ]);
      }
      if (!io.outBytes) {
        throw new CommanderError(1, USAGE, 'this output cannot take raw bytes');
      }
      const payloads = settings.payloadDir
        ? new DirectoryPayloadStore(settings.payloadDir)
        : undefined;
      const body = await loadPayload(payload, payloads);
      io.err(description);
      io.outBytes(body);
    });

  quarantined
    .command('delete')
    .description('delete one quarantined delivery, once it is dealt with')
    .argument('<id>', 'delivery id from quarantine list')
    .action(async (id: string) => {
      const { delivery } = await quarantine.delete(id);
      io.out(`deleted quarantined delivery ${id}\n`);
      if (delivery.payload.kind === 'stored') {
        io.out(
          `its body stays in the payload store as ${delivery.payload.ref} ` +
            '(the store is shared by content: another delivery may use the same file)\n',
        );
      }
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (
      error instanceof DeadLetterNotFoundError ||
      error instanceof DeadLetterConsumerMismatchError ||
      error instanceof QuarantinedDeliveryNotFoundError
    ) {
      io.err(`dead-letters: ${error.message}\n`);
      return 1;
    }
    if (error instanceof PayloadUnavailableError || error instanceof PayloadStoreError) {
      io.err(`dead-letters: the body cannot be read back: ${error.message}\n`);
      return 1;
    }
    if (error instanceof ConfigurationError) {
      io.err(`dead-letters: ${error.message}\n`);
      return 2;
    }
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      if (error.code === USAGE) io.err(`dead-letters: ${error.message}\n`);
      return 1;
    }
    io.err(`dead-letters: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  } finally {
    await Promise.allSettled([...queues.values()].map((queue) => queue.close()));
    await closeRedisConnection(redis, 1000);
  }
}
