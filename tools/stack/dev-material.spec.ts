import { statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { verifySecret } from '@countersign/security';

import { ensureDevMaterial, newHmacKey } from './dev-material.js';
import { stackUrls, writeStackConfig, type StackLayout } from './stack-config.js';

describe('development material', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-material-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('makes HMAC keys that look like DocuSign keys: base64 of 32 bytes, ending in =', () => {
    const key = newHmacKey();
    expect(key).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(newHmacKey()).not.toBe(key);
  });

  it('creates the PKI and the secrets once, in owner-only files, and reuses them', async () => {
    const first = await ensureDevMaterial(dir);
    const second = await ensureDevMaterial(dir);

    expect(first.created.length).toBeGreaterThan(3);
    expect(second.created).toEqual([]);
    expect(second.material.clientSecret).toBe(first.material.clientSecret);
    expect(second.material.hmacKeys).toEqual(first.material.hmacKeys);
    for (const file of [first.material.clientSecretFile, ...first.material.hmacKeyFiles]) {
      expect([file, statSync(file).mode & 0o777]).toEqual([file, 0o600]);
    }
    expect(statSync(join(dir, 'secrets')).mode & 0o777).toBe(0o700);
  });

  it('writes config files that hold hashes and paths, and a dev.env without secrets', async () => {
    const { material } = await ensureDevMaterial(dir);
    const layout: StackLayout = {
      bindHost: '127.0.0.1',
      authHost: '127.0.0.1',
      listenerHost: '127.0.0.1',
      workerHost: '127.0.0.1',
      authPort: 18443,
      listenerPort: 19443,
      workerPort: 18090,
      redisUrl: 'redis://127.0.0.1:6379',
      queuePrefix: 'cs-test',
      payloadDir: join(dir, 'payloads'),
      archiveDir: join(dir, 'archive'),
      auditLogFile: join(dir, 'audit', 'audit.jsonl'),
    };
    const config = await writeStackConfig(material, layout);

    const clients = JSON.parse(await readFile(config.files.clients, 'utf8')) as {
      clients: { client_id: string; client_secret_hash?: string; audience: string }[];
    };
    const basic = clients.clients.find((client) => client.client_id === 'docusign-connect');
    expect(await verifySecret(material.clientSecret, basic?.client_secret_hash ?? '')).toBe(true);
    expect(basic?.audience).toBe(stackUrls(layout).audience);

    const everything = [
      await readFile(config.files.clients, 'utf8'),
      await readFile(config.files.profiles, 'utf8'),
      await readFile(config.files.simulator, 'utf8'),
      await readFile(config.files.devEnv, 'utf8'),
    ].join('\n');
    for (const secret of [material.clientSecret, ...material.hmacKeys]) {
      expect(everything).not.toContain(secret);
    }
    expect(await readFile(config.files.devEnv, 'utf8')).toContain(material.clientSecretFile);
    expect(config.env.listener.LISTENER_PROFILES_FILE).toBe(config.files.profiles);
    expect(config.env.authServer.AUTH_ISSUER).toBe('https://127.0.0.1:18443');
  });
});
