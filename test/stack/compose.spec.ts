import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parse } from 'yaml';

import { loadAuthServerConfig } from '../../apps/auth-server/src/config/auth-server.config.js';
import { loadListenerSettings } from '../../apps/listener/src/config/listener-settings.js';
import { loadWorkerConfig } from '../../apps/worker/src/config/worker.config.js';
import { COMPOSE_LAYOUT } from '../../tools/stack/compose-layout.js';
import { ensureDevMaterial } from '../../tools/stack/dev-material.js';
import { writeStackConfig, type StackConfig } from '../../tools/stack/stack-config.js';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: string | number };
  healthcheck?: { test: string[] };
  profiles?: string[];
  volumes?: string[];
  restart?: string;
}

const COMPOSE_FILE = 'docker/compose.yml';
const APP_SERVICES = ['auth-server', 'listener', 'worker'] as const;
const compose = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};
const services = compose.services;

/** `dist/<path>.js` in the image is compiled from `<path>.ts` by tsconfig.build.json. */
function sourceOf(distPath: string): string | undefined {
  const match = /^dist\/((?:apps|libs|tools)\/.+)\.js$/.exec(distPath);
  return match ? `${match[1]}.ts` : undefined;
}

/** Every `dist/...js` a command or health check runs. */
function scriptsOf(args: readonly string[]): string[] {
  return args.filter((arg) => arg.startsWith('dist/'));
}

describe('docker/compose.yml', () => {
  it('runs Redis with an append-only file, noeviction, a health check and a volume', () => {
    const redis = services.redis;
    const command = (redis?.command ?? []).join(' ');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(redis?.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(redis?.volumes).toContain('redis-data:/data');
    expect(Object.keys(compose.volumes)).toEqual(
      expect.arrayContaining(['redis-data', 'material', 'data']),
    );
  });

  it('builds one image for every app from docker/Dockerfile', () => {
    for (const name of ['pki', ...APP_SERVICES, 'simulator']) {
      expect([name, services[name]?.image, services[name]?.build]).toEqual([
        name,
        'countersign:dev',
        { context: '..', dockerfile: 'docker/Dockerfile' },
      ]);
    }
    expect(existsSync('docker/Dockerfile')).toBe(true);
  });

  it('builds a multi-stage, non-root image from directories that exist', () => {
    const dockerfile = readFileSync('docker/Dockerfile', 'utf8');
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    expect(dockerfile).toMatch(/RUN npm ci\b/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(\S+)/gm)].map((match) => match[1]);
    for (const path of copied) {
      expect([path, existsSync(path ?? '')]).toEqual([path, true]);
    }
  });

  it('runs only scripts that the build produces', () => {
    const runs = Object.entries(services).flatMap(([name, service]) =>
      [...(service.command ?? []), ...(service.healthcheck?.test ?? [])]
        .filter((arg) => arg.startsWith('dist/'))
        .map((script) => ({ name, script })),
    );
    expect(runs.length).toBeGreaterThanOrEqual(9);
    for (const { name, script } of runs) {
      const source = sourceOf(script);
      expect({ name, script, source: source !== undefined && existsSync(source) }).toEqual({
        name,
        script,
        source: true,
      });
    }
    for (const name of ['pki', ...APP_SERVICES, 'simulator']) {
      expect([name, services[name]?.command?.[0]]).toEqual([name, 'node']);
      expect(scriptsOf(services[name]?.command ?? []).length).toBeGreaterThan(0);
    }
  });

  it('starts each app only after Redis is healthy and the PKI step completed', () => {
    for (const name of APP_SERVICES) {
      expect(services[name]?.depends_on).toMatchObject({
        redis: { condition: 'service_healthy' },
        pki: { condition: 'service_completed_successfully' },
      });
      expect(services[name]?.healthcheck?.test[0]).toBe('CMD');
    }
    expect(services.listener?.depends_on?.['auth-server']).toEqual({
      condition: 'service_healthy',
    });
    expect(services.pki?.restart).toBe('no');
  });

  it('lets each app scale by an environment variable', () => {
    expect(services['auth-server']?.deploy?.replicas).toBe('${AUTH_SERVER_REPLICAS:-1}');
    expect(services.listener?.deploy?.replicas).toBe('${LISTENER_REPLICAS:-1}');
    expect(services.worker?.deploy?.replicas).toBe('${WORKER_REPLICAS:-1}');
  });

  it('shares one payload volume between the listener and the worker', () => {
    expect(services.listener?.environment?.LISTENER_PAYLOAD_DIR).toBe('/data/payloads');
    expect(services.worker?.environment?.WORKER_PAYLOAD_DIR).toBe('/data/payloads');
    expect(services.listener?.volumes).toContain('data:/data');
    expect(services.worker?.volumes).toContain('data:/data');
  });

  it('keeps the simulator behind its profile', () => {
    expect(services.simulator?.profiles).toEqual(['simulator']);
    for (const name of APP_SERVICES) {
      expect(services[name]?.profiles).toBeUndefined();
    }
  });

  it('puts no secret into the compose file', () => {
    const text = readFileSync(COMPOSE_FILE, 'utf8');
    expect(text).not.toMatch(/SECRET\s*:|PASSWORD\s*:|[A-Za-z0-9+/]{40,}={0,2}/);
  });

  describe('environment, against what the PKI step writes', () => {
    let dir: string;
    let generated: StackConfig;

    /** Compose paths pointed at a temporary material directory with the same layout. */
    function localEnv(service: string): Record<string, string> {
      const env: Record<string, string> = {};
      for (const [name, value] of Object.entries(services[service]?.environment ?? {})) {
        env[name] = String(value)
          .replaceAll('/countersign/', `${dir}/`)
          .replaceAll('/data/', `${dir}/data/`);
      }
      return env;
    }

    /** What `env-from-files.js` does before the listener starts. */
    function withFileSecrets(env: Record<string, string>): Record<string, string> {
      const result = { ...env };
      for (const entry of (env.ENV_FROM_FILES ?? '').split(',').filter(Boolean)) {
        const [name, path] = entry.split('=') as [string, string];
        result[name] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
      }
      delete result.ENV_FROM_FILES;
      return result;
    }

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'countersign-compose-'));
      const { material } = await ensureDevMaterial(dir);
      generated = await writeStackConfig(material, COMPOSE_LAYOUT);
    }, 60_000);

    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('the PKI step writes into the directory the apps read from', () => {
      const command = services.pki?.command ?? [];
      expect(command.slice(2)).toEqual(['init', '--dir', '/countersign', '--compose']);
    });

    it.each([
      ['auth-server', 'authServer'],
      ['listener', 'listener'],
      ['worker', 'worker'],
    ] as const)('%s gets the environment the stack would give it', (service, key) => {
      // what `init --dir /countersign --compose` writes inside the container
      const env = services[service]?.environment ?? {};
      for (const [name, value] of Object.entries(generated.env[key])) {
        expect([name, env[name]]).toEqual([name, value.replaceAll(`${dir}/`, '/countersign/')]);
      }
    });

    it("the auth-server's configuration validation accepts its environment", () => {
      const config = loadAuthServerConfig(localEnv('auth-server'));
      expect(config.issuer).toBe('https://auth-server:8443');
      expect(config.clients.all().map((client) => client.clientId)).toContain('docusign-connect');
    });

    it("the listener's configuration validation accepts its environment and profiles", () => {
      const settings = loadListenerSettings(withFileSecrets(localEnv('listener')));
      expect([...settings.profiles.keys()]).toEqual(['docusign']);
    });

    it('the listener refuses to start when a HMAC key file is missing from its environment', () => {
      const env = localEnv('listener');
      delete env.ENV_FROM_FILES;
      expect(() => loadListenerSettings(env)).toThrow(/CONNECT_HMAC_KEY_1/);
    });

    it("the worker's configuration validation accepts its environment", () => {
      const config = loadWorkerConfig(localEnv('worker'));
      expect(config.role).toBe('all');
      expect(config.payloadDir).toBe(`${dir}/data/payloads`);
    });
  });
});
