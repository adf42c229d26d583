import { ConfigurationError } from '@countersign/common';
import { queuePrefix } from '@countersign/queue';
import { Queue } from 'bullmq';
import { Command, CommanderError } from 'commander';
import { loadRedisConfig } from '../config/worker.config.js';
import { closeRedisConnection, createRedisConnection } from '../redis/redis-connection.js';
import {
  DeadLetterNotFoundError,
  DeadLetterStore,
  type DeadLetterEntry,
} from './dead-letter-store.js';

/** Where the CLI writes; the process's streams, or buffers in tests. */
export interface CliIo {
  readonly env: Record<string, string | undefined>;
  out(text: string): void;
  err(text: string): void;
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

/**
 * `dead-letters list|show <id>|replay <id>|replay --all`: returns the exit code (0 done, 1 not
 * found or bad usage, 2 configuration or Redis trouble).
 */
export async function runDeadLettersCli(argv: readonly string[], io: CliIo): Promise<number> {
  let settings;
  try {
    settings = loadRedisConfig(io.env);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      io.err(`dead-letters: ${error.message}\n`);
      return 2;
    }
    throw error;
  }

  const redis = createRedisConnection(settings.redis, { name: 'dead-letters-cli' });
  const queues = new Map<string, Queue>();
  const store = new DeadLetterStore((name) => {
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: redis,
        prefix: queuePrefix(settings.queuePrefix, name),
      });
      queues.set(name, queue);
    }
    return queue;
  });

  const program = new Command('dead-letters')
    .description('List, inspect and replay consumer jobs that used up their attempts')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) });

  program
    .command('list')
    .description('list dead letters, oldest first')
    .option('--consumer <name>', 'only this consumer')
    .option('--json', 'one JSON object per line')
    .action(async (options: { consumer?: string; json?: boolean }) => {
      const entries = await store.list({ consumer: options.consumer });
      for (const entry of entries) {
        const row = summary(entry);
        io.out(
          options.json
            ? `${JSON.stringify(row)}\n`
            : `${row.id}  ${row.consumer}  ${row.event}  ${row.deliveryId}  attempts=${row.attemptsMade}  ${row.failedAt}  ${row.error.split('\n')[0]}\n`,
        );
      }
      if (!options.json) io.out(`${entries.length} dead letter(s)\n`);
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
    .option('--consumer <name>', 'with --all: only this consumer')
    .action(async (id: string | undefined, options: { all?: boolean; consumer?: string }) => {
      if ((id === undefined) === !options.all) {
        throw new CommanderError(1, 'dead-letters.usage', 'replay needs an id or --all (not both)');
      }
      const replayed = id ? [await store.replay(id)] : await store.replayAll(options);
      for (const entry of replayed) {
        io.out(`replayed ${entry.id} to ${entry.consumer} as job ${entry.jobId}\n`);
      }
      io.out(`${replayed.length} dead letter(s) replayed\n`);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof DeadLetterNotFoundError) {
      io.err(`dead-letters: ${error.message}\n`);
      return 1;
    }
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      if (error.code === 'dead-letters.usage') io.err(`dead-letters: ${error.message}\n`);
      return 1;
    }
    io.err(`dead-letters: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  } finally {
    await Promise.allSettled([...queues.values()].map((queue) => queue.close()));
    await closeRedisConnection(redis, 1000);
  }
}
