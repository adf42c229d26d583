import { createServer, type AddressInfo } from 'node:net';

import { call, startAuthServer } from '../auth-server/support/auth-server-harness.js';
import { createAuthTestPki, removeAuthTestPki } from '../auth-server/support/test-pki.js';

/** A loopback port nothing listens on (taken from the OS, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

describe('auth-server health while Redis is unreachable', () => {
  it('stays live but reports not ready (503, redis down) within the ping timeout', async () => {
    const pki = await createAuthTestPki();
    const server = await startAuthServer({
      pki,
      clients: [],
      env: { REDIS_URL: `redis://127.0.0.1:${await closedPort()}` },
    });
    try {
      expect((await call(server, pki, { method: 'GET', path: '/health/live' })).status).toBe(200);

      const started = Date.now();
      const ready = await call(server, pki, { method: 'GET', path: '/health/ready' });
      expect(Date.now() - started).toBeLessThan(2000);
      expect(ready.status).toBe(503);
      expect(ready.json).toEqual({
        status: 'unavailable',
        checks: { redis: 'down', signingKeys: 'up' },
      });
      expect(ready.headers['cache-control']).toBe('no-store');
    } finally {
      await server.close();
      removeAuthTestPki(pki);
    }
  });
});
