import type { INestApplication } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import { serveOpenApiDocument } from '@countersign/common';
import { QUEUE_BOARD_PATH } from '../board/queue-board.js';

/** Version of the documented HTTP interface. */
const WORKER_API_VERSION = '1.0.0';

const BOARD_SCHEME = 'queue_board_basic';

/** The board is an Express router, not a Nest route: it is described here, by hand. */
function describeQueueBoard(document: OpenAPIObject): void {
  const refused = {
    description: 'Missing or wrong credentials',
    headers: {
      'WWW-Authenticate': { description: '`Basic realm=...`', schema: { type: 'string' } },
    },
  };
  document.paths[QUEUE_BOARD_PATH] = {
    get: {
      tags: ['operations'],
      summary: 'Queue board (Bull Board UI), read-only',
      security: [{ [BOARD_SCHEME]: [] }],
      responses: {
        '200': { description: 'The board page', content: { 'text/html': {} } },
        '401': refused,
      },
    },
  };
  document.paths[`${QUEUE_BOARD_PATH}/api/queues`] = {
    get: {
      tags: ['operations'],
      summary: 'Every Countersign queue with its job counts and Redis key prefix',
      security: [{ [BOARD_SCHEME]: [] }],
      responses: {
        '200': {
          description: 'The queues as Bull Board reports them',
          content: { 'application/json': { schema: { type: 'object' } } },
        },
        '401': refused,
      },
    },
  };
  const components = (document.components ??= {});
  components.securitySchemes = {
    ...components.securitySchemes,
    [BOARD_SCHEME]: {
      type: 'http',
      scheme: 'basic',
      description:
        'WORKER_BOARD_USERNAME and the password whose hash is WORKER_BOARD_PASSWORD_HASH',
    },
  };
}

/** Builds the worker's OpenAPI document and serves it at `GET /openapi.json`. */
export function serveWorkerOpenApi(
  app: INestApplication,
  options: { boardEnabled: boolean },
): OpenAPIObject {
  return serveOpenApiDocument(app, {
    title: 'Countersign worker',
    description:
      'Dispatches verified envelopes to consumers and runs them; serves health, metrics, the ' +
      'envelope-status view and, when configured, the queue board.',
    version: WORKER_API_VERSION,
    complete: options.boardEnabled ? describeQueueBoard : undefined,
  });
}
