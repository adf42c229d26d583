import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '@countersign/common';
import {
  issueTestCertificate,
  privateKeyPem,
} from '../../../../libs/security/src/testing/test-pki.js';
import { loadListenerSettings } from './listener-settings.js';

describe('loadListenerSettings', () => {
  let dir: string;
  let profilesFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-listener-env-'));
    profilesFile = join(dir, 'profiles.json');
    await writeFile(
      profilesFile,
      JSON.stringify({
        profiles: { p: { checks: ['hmac'], hmac: { keys: [{ id: 'k', secretEnv: 'CS_K' }] } } },
      }),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function problemsOf(env: Record<string, string>): string {
    try {
      loadListenerSettings(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      return (error as Error).message;
    }
    throw new Error('expected a ConfigurationError');
  }

  it('applies the documented defaults in proxy mode', () => {
    const settings = loadListenerSettings({
      LISTENER_MODE: 'proxy',
      LISTENER_TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1',
      LISTENER_FORWARDED_CERT_FORMAT: 'envoy-xfcc',
      LISTENER_PROFILES_FILE: profilesFile,
      CS_K: 'secret',
    });
    expect(settings.env).toMatchObject({
      LISTENER_PORT: 9443,
      LISTENER_BODY_LIMIT_BYTES: 32 * 1024 * 1024,
      LISTENER_INLINE_PAYLOAD_MAX_BYTES: 256 * 1024,
      LISTENER_ENQUEUE_TIMEOUT_MS: 1500,
      REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: 'countersign',
    });
    expect(settings.tls).toBeUndefined();
    expect(settings.forwarded?.format).toBe('envoy-xfcc');
    expect([...settings.profiles.keys()]).toEqual(['p']);
  });

  it('requires the TLS certificate and key in tls mode', () => {
    const problems = problemsOf({ LISTENER_PROFILES_FILE: profilesFile, CS_K: 'secret' });
    expect(problems).toContain('LISTENER_TLS_CERT_FILE: is required: a file path');
    expect(problems).toContain('LISTENER_TLS_KEY_FILE: is required: a file path');
  });

  it('requires the proxy allowlist and header format in proxy mode', () => {
    const problems = problemsOf({
      LISTENER_MODE: 'proxy',
      LISTENER_PROFILES_FILE: profilesFile,
      CS_K: 'secret',
    });
    expect(problems).toContain('LISTENER_TRUSTED_PROXIES');
    expect(problems).toContain('LISTENER_FORWARDED_CERT_FORMAT');
  });

  it('refuses an enqueue timeout of 2 s or more, which would miss the 503 deadline', () => {
    const problems = problemsOf({
      LISTENER_MODE: 'proxy',
      LISTENER_TRUSTED_PROXIES: '127.0.0.1',
      LISTENER_FORWARDED_CERT_FORMAT: 'nginx',
      LISTENER_PROFILES_FILE: profilesFile,
      LISTENER_ENQUEUE_TIMEOUT_MS: '2000',
      CS_K: 'secret',
    });
    expect(problems).toContain('LISTENER_ENQUEUE_TIMEOUT_MS: must not be greater than 1999');
  });

  it('refuses a headers timeout that is not shorter than the request timeout', () => {
    const problems = problemsOf({
      LISTENER_MODE: 'proxy',
      LISTENER_TRUSTED_PROXIES: '127.0.0.1',
      LISTENER_FORWARDED_CERT_FORMAT: 'nginx',
      LISTENER_PROFILES_FILE: profilesFile,
      LISTENER_HEADERS_TIMEOUT_MS: '60000',
      LISTENER_REQUEST_TIMEOUT_MS: '60000',
      CS_K: 'secret',
    });
    expect(problems).toContain('LISTENER_HEADERS_TIMEOUT_MS: must be less than');
  });

  it('refuses a proxy allowlist entry that is not an address or CIDR', () => {
    const problems = problemsOf({
      LISTENER_MODE: 'proxy',
      LISTENER_TRUSTED_PROXIES: 'proxy.internal',
      LISTENER_FORWARDED_CERT_FORMAT: 'nginx',
      LISTENER_PROFILES_FILE: profilesFile,
      CS_K: 'secret',
    });
    expect(problems).toContain('LISTENER_TRUSTED_PROXIES');
  });

  const proxyEnv = () => ({
    LISTENER_MODE: 'proxy',
    LISTENER_TRUSTED_PROXIES: '127.0.0.1',
    LISTENER_FORWARDED_CERT_FORMAT: 'nginx',
    LISTENER_PROFILES_FILE: profilesFile,
    CS_K: 'secret',
  });

  it('talks to one Redis server at REDIS_URL unless cluster nodes are set', () => {
    expect(loadListenerSettings(proxyEnv()).redis).toEqual({
      mode: 'single',
      url: 'redis://127.0.0.1:6379',
    });
    expect(loadListenerSettings({ ...proxyEnv(), REDIS_CLUSTER_NODES: '  ' }).redis.mode).toBe(
      'single',
    );
  });

  it('talks to a Redis Cluster through the REDIS_CLUSTER_NODES seed nodes', () => {
    const settings = loadListenerSettings({
      ...proxyEnv(),
      REDIS_CLUSTER_NODES: 'redis-a:7000 , 10.0.0.2:7001,redis-c.internal:7002',
    });
    expect(settings.redis).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'redis-a', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: 'redis-c.internal', port: 7002 },
      ],
    });
  });

  it.each(['redis-a', 'redis-a:7000,', 'redis://redis-a:7000', 'redis-a:port', 'a b:7000'])(
    'refuses REDIS_CLUSTER_NODES %j, naming the variable',
    (nodes) => {
      expect(problemsOf({ ...proxyEnv(), REDIS_CLUSTER_NODES: nodes })).toContain(
        'REDIS_CLUSTER_NODES: must be a comma list of host:port',
      );
    },
  );

  it('names a TLS file that cannot be read', () => {
    const problems = problemsOf({
      LISTENER_TLS_CERT_FILE: join(dir, 'missing.pem'),
      LISTENER_TLS_KEY_FILE: join(dir, 'missing-key.pem'),
      LISTENER_PROFILES_FILE: profilesFile,
      CS_K: 'secret',
    });
    expect(problems).toContain('missing');
    expect(problems).toContain('cannot be read');
  });

  describe('TLS material', () => {
    let certFile: string;
    let keyFile: string;
    let otherKeyFile: string;
    let notPemFile: string;

    beforeAll(async () => {
      const server = await issueTestCertificate({ subject: 'CN=localhost' });
      const other = await issueTestCertificate({ subject: 'CN=other' });
      certFile = join(dir, 'server.pem');
      keyFile = join(dir, 'server.key');
      otherKeyFile = join(dir, 'other.key');
      notPemFile = join(dir, 'not-pem.txt');
      await writeFile(certFile, server.pem);
      await writeFile(keyFile, await privateKeyPem(server));
      await writeFile(otherKeyFile, await privateKeyPem(other));
      await writeFile(notPemFile, 'this is not PEM');
    });

    const tlsEnv = (cert: string, key: string) => ({
      LISTENER_TLS_CERT_FILE: cert,
      LISTENER_TLS_KEY_FILE: key,
      LISTENER_PROFILES_FILE: profilesFile,
      CS_K: 'secret',
    });

    it('loads a certificate with its own key', () => {
      expect(loadListenerSettings(tlsEnv(certFile, keyFile)).tls?.cert.length).toBeGreaterThan(0);
    });

    it.each([
      ['a key of another certificate', () => tlsEnv(certFile, otherKeyFile)],
      ['a certificate file that is not PEM', () => tlsEnv(notPemFile, keyFile)],
      ['a key file that is not PEM', () => tlsEnv(certFile, notPemFile)],
    ])('stops start-up with a named configuration error for %s', (_, env) => {
      const problems = problemsOf(env());
      expect(problems).toContain('LISTENER_TLS_CERT_FILE / LISTENER_TLS_KEY_FILE');
      expect(problems).toContain('not a usable key pair');
      expect(problems).not.toContain('PRIVATE KEY');
    });
  });
});
