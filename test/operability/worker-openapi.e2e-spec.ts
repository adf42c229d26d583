import type { INestApplication } from '@nestjs/common';
import { hashSecret } from '@countersign/security';
import { ShippedConsumersModule } from '../../apps/worker/src/consumers/shipped-consumers.module.js';
import { startWorker, testConfig, uniquePrefix } from '../worker/worker-harness.js';
import { operationsOf, validOpenApiDocument } from './support/openapi.js';

describe('worker OpenAPI document', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const config = testConfig(uniquePrefix(), {
      WORKER_ROLE: 'dispatcher',
      WORKER_BOARD_USERNAME: 'operator',
      WORKER_BOARD_PASSWORD_HASH: await hashSecret('board-password'),
    });
    ({ app, url } = await startWorker(config, [ShippedConsumersModule]));
  });

  afterAll(async () => {
    await app?.close();
  });

  it('serves a valid OpenAPI 3.1 document listing health, metrics, envelope status and the board', async () => {
    const answer = await fetch(`${url}/openapi.json`);
    expect(answer.status).toBe(200);
    const document = validOpenApiDocument(await answer.text());

    expect(document.info.title).toBe('Countersign worker');
    expect(operationsOf(document)).toEqual([
      'GET /board',
      'GET /board/api/queues',
      'GET /envelopes/{envelopeId}/status',
      'GET /health/live',
      'GET /health/ready',
      'GET /metrics',
    ]);
    expect(document.paths?.['/board']?.get?.security).toEqual([{ queue_board_basic: [] }]);
  });

  it('does not put the document behind the board credentials', async () => {
    expect((await fetch(`${url}/board`)).status).toBe(401);
    expect((await fetch(`${url}/openapi.json`)).status).toBe(200);
  });
});
