import { hashSecret } from '@countersign/security';
import { Cluster } from 'ioredis';

import { startRedisCluster, type RunningRedisCluster } from '../support/redis-cluster.js';
import {
  basic,
  call,
  form,
  startAuthServer,
  type HttpAnswer,
  type RunningAuthServer,
} from './support/auth-server-harness.js';
import { createAuthTestPki, removeAuthTestPki, type AuthTestPki } from './support/test-pki.js';

const AUDIENCE = 'https://listener.countersign.test/connect';

describe('auth-server on a three-node Redis Cluster (REDIS_CLUSTER_NODES)', () => {
  let cluster: RunningRedisCluster;
  let pki: AuthTestPki;
  let server: RunningAuthServer;
  let inspect: Cluster;

  const post = (path: string, parameters: Record<string, string>, authorization: string) => {
    const request = form(parameters);
    return call(server, pki, {
      path,
      headers: { ...request.headers, authorization },
      body: request.body,
    });
  };
  const token = (secret: string): Promise<HttpAnswer> =>
    post('/oauth2/token', { grant_type: 'client_credentials' }, basic('connect', secret));

  beforeAll(async () => {
    cluster = await startRedisCluster();
    inspect = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
    pki = await createAuthTestPki();
    const base = { scope: 'connect:events', audience: AUDIENCE };
    server = await startAuthServer({
      pki,
      env: {
        // nothing answers here: every command has to go to the cluster
        REDIS_URL: 'redis://127.0.0.1:1',
        REDIS_CLUSTER_NODES: cluster.nodes,
        AUTH_RATE_LIMIT_MAX_FAILURES: '2',
      },
      clients: [
        {
          ...base,
          client_id: 'connect',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret_hash: await hashSecret('connect-secret'),
        },
        {
          ...base,
          client_id: 'listener',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret_hash: await hashSecret('listener-secret'),
        },
      ],
    });
  }, 90_000);

  afterAll(async () => {
    await server?.close();
    inspect?.disconnect();
    await cluster?.stop();
    removeAuthTestPki(pki);
  });

  it('reports ready once it has connected to the cluster', async () => {
    const ready = await call(server, pki, { method: 'GET', path: '/health/ready' });
    expect(ready.status).toBe(200);
  });

  it('revokes a token on the cluster, and introspection then reports it inactive', async () => {
    const issued = await token('connect-secret');
    expect(issued.status).toBe(200);
    const accessToken = issued.json.access_token as string;

    const revoked = await post(
      '/oauth2/revoke',
      { token: accessToken },
      basic('connect', 'connect-secret'),
    );
    expect(revoked.status).toBe(200);
    const revocationKeys = (
      await Promise.all(
        inspect.nodes('master').map((node) => node.keys(`${server.prefix}:revoked-token:*`)),
      )
    ).flat();
    expect(revocationKeys).toHaveLength(1);

    const introspected = await post(
      '/oauth2/introspect',
      { token: accessToken },
      basic('listener', 'listener-secret'),
    );
    expect(introspected.status).toBe(200);
    expect(introspected.json).toEqual({ active: false });
  });

  it('counts failed authentications on the cluster and answers 429 once over the limit', async () => {
    expect((await token('wrong-1')).status).toBe(401);
    expect((await token('wrong-2')).status).toBe(401);
    const limited = await token('connect-secret');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });
});
