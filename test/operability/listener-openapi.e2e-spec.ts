import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createListenerTestPki,
  CONNECT_SUBJECT,
  type ListenerTestPki,
} from '../listener/support/listener-pki.js';
import {
  connectSignature,
  send,
  startListener,
  type RunningListener,
} from '../listener/support/listener-harness.js';
import { operationsOf, validOpenApiDocument } from './support/openapi.js';

const HMAC_KEY = 'b3BlbmFwaS10ZXN0LWtleS1mb3ItdGhlLWxpc3RlbmVy';

describe('listener OpenAPI document', () => {
  let dir: string;
  let pki: ListenerTestPki;
  let listener: RunningListener;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-listener-openapi-'));
    pki = await createListenerTestPki(dir);
    listener = await startListener({
      dir,
      env: {
        LISTENER_TLS_CERT_FILE: pki.serverCertFile,
        LISTENER_TLS_KEY_FILE: pki.serverKeyFile,
        LISTENER_CLIENT_CA_FILE: pki.caBundleFile,
        CS_TEST_OPENAPI_HMAC: HMAC_KEY,
      },
      profiles: {
        signed: {
          checks: ['mtls', 'hmac'],
          certificate: { subjects: [{ subjectDn: CONNECT_SUBJECT }] },
          hmac: { keys: [{ id: 'openapi', secretEnv: 'CS_TEST_OPENAPI_HMAC' }] },
        },
      },
    });
  });

  afterAll(async () => {
    await listener?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const get = (path: string) =>
    send({ port: listener.port, path, method: 'GET', tls: { ca: pki.caBundlePem } });

  const openApi = async () => {
    const answer = await get('/openapi.json');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    return validOpenApiDocument(answer.text);
  };

  it('serves a valid OpenAPI 3.1 document listing the delivery route, health and metrics', async () => {
    const document = await openApi();

    expect(document.openapi).toBe('3.1.0');
    expect(document.info.title).toBe('Countersign listener');
    expect(operationsOf(document)).toEqual([
      'GET /health/live',
      'GET /health/ready',
      'GET /metrics',
      'POST /connect/{profile}',
    ]);
  });

  it('describes the mutualTLS, bearer, Basic and HMAC schemes and the signature headers', async () => {
    const document = await openApi();
    expect(document.components?.securitySchemes).toMatchObject({
      connect_certificate: { type: 'mutualTLS' },
      connect_bearer_token: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      connect_basic: { type: 'http', scheme: 'basic' },
      connect_hmac: { type: 'apiKey', in: 'header', name: 'X-DocuSign-Signature-1' },
    });

    const delivery = document.paths?.['/connect/{profile}']?.post;
    expect(delivery?.security).toContainEqual({ connect_hmac: [] });
    expect(delivery?.security).toContainEqual({ connect_basic: [], connect_hmac: [] });
    expect(delivery?.security).toContainEqual({
      connect_certificate: [],
      connect_bearer_token: [],
      connect_hmac: [],
    });
    const parameters = (delivery?.parameters ?? []) as { name: string; in: string }[];
    expect(parameters.map((p) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining([
        'path:profile',
        'header:X-DocuSign-Signature-1',
        'header:X-DocuSign-Signature-2',
      ]),
    );
  });

  it('lists every answer with its reason codes, challenge and Retry-After', async () => {
    const delivery = (await openApi()).paths?.['/connect/{profile}']?.post;
    const responses = delivery?.responses ?? {};
    expect(Object.keys(responses).sort()).toEqual([
      '200',
      '400',
      '401',
      '403',
      '404',
      '413',
      '415',
      '503',
    ]);

    type Answer = {
      headers?: Record<string, unknown>;
      content: Record<string, { schema: { properties: Record<string, { enum?: string[] }> } }>;
    };
    const answer = (status: string) => responses[status] as Answer;
    const reasons = (status: string) =>
      answer(status).content['application/json'].schema.properties.error.enum;

    expect(answer('200').content['application/json'].schema.properties.status.enum).toEqual([
      'enqueued',
      'duplicate',
    ]);
    expect(reasons('401')).toEqual(
      expect.arrayContaining(['hmac_mismatch', 'certificate_not_trusted', 'token_expired']),
    );
    expect(reasons('401')).not.toContain('token_scope_insufficient');
    expect(reasons('403')).toEqual(['token_scope_insufficient']);
    expect(reasons('404')).toEqual(['profile_unknown']);
    expect(reasons('413')).toEqual(['body_too_large']);
    expect(reasons('415')).toEqual(['body_unsupported_media_type']);
    expect(reasons('503')).toEqual(
      expect.arrayContaining(['queue_unavailable', 'token_jwks_unavailable']),
    );
    expect(Object.keys(answer('401').headers ?? {})).toContain('WWW-Authenticate');
    expect(Object.keys(answer('403').headers ?? {})).toContain('WWW-Authenticate');
    expect(Object.keys(answer('503').headers ?? {})).toContain('Retry-After');
  });

  it('leaves the delivery route and its refusals answering as before', async () => {
    const body = await readFile(join(process.cwd(), 'test/fixtures/connect/envelope-sent.json'));
    const deliver = (signature: string) =>
      send({
        port: listener.port,
        path: '/connect/signed',
        tls: { ca: pki.caBundlePem, client: pki.connect },
        headers: { 'content-type': 'application/json', 'X-DocuSign-Signature-1': signature },
        body,
      });

    const accepted = await deliver(connectSignature(HMAC_KEY, body));
    expect(accepted.status).toBe(200);
    expect(['enqueued', 'duplicate']).toContain(accepted.json.status);
    const refused = await deliver(connectSignature('another-key', body));
    expect({ status: refused.status, error: refused.json.error }).toEqual({
      status: 401,
      error: 'hmac_mismatch',
    });
    expect((await get('/openapi.yaml')).status).toBe(404);
  });
});
