import { Logger, type INestApplication } from '@nestjs/common';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { ConsumerRegistry } from '../consumer/consumer-registry.js';
import { countersignQueueNames } from '../redis/countersign-queues.js';
import { QueueRegistry } from '../redis/queue-registry.js';
import { boardAuthentication } from './board-authentication.js';
import type { QueueBoardConfig } from './queue-board.config.js';

/** Where the board is served on the worker's HTTP port. */
export const QUEUE_BOARD_PATH = '/board';

/**
 * Serves Bull Board at /board behind Basic authentication, read-only: it shows every queue with
 * its hash-tagged Redis prefix, but jobs are replayed with the dead-letters CLI, never from here.
 * Call before `listen`, so the route sits in front of the framework's not-found handler.
 */
export function mountQueueBoard(app: INestApplication, board: QueueBoardConfig): void {
  const logger = new Logger('QueueBoard');
  const queues = app.get(QueueRegistry);
  const names = countersignQueueNames(app.get(ConsumerRegistry));

  const serverAdapter = new ExpressAdapter().setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    queues: names.map((name) => {
      const queue = queues.queue(name);
      return new BullMQAdapter(queue, {
        readOnlyMode: true,
        description: `Redis keys ${queue.opts.prefix}:${name}:*`,
      });
    }),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Countersign queues' } },
  });

  app.use(QUEUE_BOARD_PATH, boardAuthentication(board, logger), serverAdapter.getRouter());
  logger.log({ msg: 'queue board enabled', path: QUEUE_BOARD_PATH, queues: names });
}
