import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';

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
  ports?: string[];
  restart?: string;
}

interface ScrapeJob {
  job_name: string;
  scheme?: string;
  metrics_path?: string;
  tls_config?: { ca_file?: string; server_name?: string };
  dns_sd_configs?: Array<{ names: string[]; type: string; port: number }>;
  static_configs?: Array<{ targets: string[] }>;
}

const COMPOSE_FILE = 'docker/compose.yml';
const APP_SERVICES = ['auth-server', 'listener', 'worker'] as const;
const OBSERVABILITY_SERVICES = ['prometheus-ca', 'prometheus', 'grafana'] as const;
const OBSERVABILITY = 'docker/observability';
/** The variable that sets the port each app listens on. */
const PORT_VARIABLE = {
  'auth-server': 'AUTH_PORT',
  listener: 'LISTENER_PORT',
  worker: 'WORKER_HTTP_PORT',
} as const;
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

const prometheusConfig = parse(
  readFileSync(`${OBSERVABILITY}/prometheus/prometheus.yml`, 'utf8'),
) as { scrape_configs: ScrapeJob[] };

interface Mount {
  /** A named volume, or a path relative to the compose file (a bind mount). */
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
  /** For a bind mount: the path in the repository. */
  readonly repoPath?: string;
}

/** A service's mounts, from the short `source:target[:ro]` syntax. */
function mountsOf(name: string): Mount[] {
  return (services[name]?.volumes ?? []).map((entry) => {
    const [source = '', target = '', mode] = entry.split(':');
    const bind = source.startsWith('.') || source.startsWith('/');
    return {
      source,
      target,
      readOnly: mode === 'ro',
      repoPath: bind ? resolve(dirname(COMPOSE_FILE), source) : undefined,
    };
  });
}

/** The mount of `name` whose target holds `path` inside the container. */
function mountHolding(name: string, path: string): Mount | undefined {
  return mountsOf(name).find((mount) => path.startsWith(`${mount.target}/`));
}

/** The container port of a `[host:]published:container` port entry. */
function containerPort(entry: string): number {
  return Number(entry.slice(entry.lastIndexOf(':') + 1));
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

  it('runs Prometheus and Grafana only under the observability profile, with health checks', () => {
    for (const name of OBSERVABILITY_SERVICES) {
      expect([name, services[name]?.profiles]).toEqual([name, ['observability']]);
    }
    expect(services.prometheus?.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(services.grafana?.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    expect(services.prometheus?.healthcheck?.test).toEqual([
      'CMD',
      'wget',
      '-q',
      '--spider',
      'http://127.0.0.1:9090/-/ready',
    ]);
    expect(services.grafana?.healthcheck?.test).toEqual([
      'CMD',
      'wget',
      '-q',
      '--spider',
      'http://127.0.0.1:3000/api/health',
    ]);
    expect(services['prometheus-ca']?.restart).toBe('no');
    expect(services['prometheus-ca']?.depends_on).toEqual({
      pki: { condition: 'service_completed_successfully' },
    });
    expect(services.prometheus?.depends_on).toEqual({
      'prometheus-ca': { condition: 'service_completed_successfully' },
    });
    expect(services.grafana?.depends_on).toEqual({
      prometheus: { condition: 'service_healthy' },
    });
    // no authentication in front of either: reachable from this host only
    for (const name of ['prometheus', 'grafana']) {
      for (const port of services[name]?.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it('mounts only files that exist in the repository and volumes the file declares', () => {
    const mounts = Object.keys(services).flatMap((name) =>
      mountsOf(name).map((mount) => ({ name, ...mount })),
    );
    expect(mounts.filter((mount) => mount.repoPath !== undefined).length).toBeGreaterThanOrEqual(3);
    for (const { name, source, repoPath, readOnly } of mounts) {
      if (repoPath === undefined) {
        expect([name, source, source in compose.volumes]).toEqual([name, source, true]);
      } else {
        expect([name, source, existsSync(repoPath), readOnly]).toEqual([name, source, true, true]);
      }
    }
  });

  it('gives Prometheus its configuration and Grafana its data source and dashboard', () => {
    const configFile = (services.prometheus?.command ?? [])
      .find((arg) => arg.startsWith('--config.file='))
      ?.slice('--config.file='.length);
    const configMount = mountsOf('prometheus').find((mount) => mount.target === configFile);
    expect(configMount?.repoPath).toBe(resolve(OBSERVABILITY, 'prometheus/prometheus.yml'));

    const provisioning = mountsOf('grafana').find(
      (mount) => mount.target === '/etc/grafana/provisioning',
    );
    expect(provisioning?.repoPath).toBe(resolve(OBSERVABILITY, 'grafana/provisioning'));
    const datasources = parse(
      readFileSync(join(provisioning!.repoPath!, 'datasources/prometheus.yml'), 'utf8'),
    ) as { datasources: Array<{ type: string; uid: string; url: string }> };
    const [datasource] = datasources.datasources;
    const url = new URL(datasource?.url ?? '');
    expect(datasource?.type).toBe('prometheus');
    expect(url.hostname in services).toBe(true);
    expect((services[url.hostname]?.ports ?? []).map(containerPort)).toContain(Number(url.port));

    const providers = parse(
      readFileSync(join(provisioning!.repoPath!, 'dashboards/countersign.yml'), 'utf8'),
    ) as { providers: Array<{ options: { path: string } }> };
    const dashboardPath = providers.providers[0]?.options.path ?? '';
    const dashboards = mountsOf('grafana').find((mount) => mount.target === dashboardPath);
    expect(dashboards?.repoPath).toBe(resolve(OBSERVABILITY, 'grafana/dashboards'));
    const dashboard = JSON.parse(
      readFileSync(join(dashboards!.repoPath!, 'countersign.json'), 'utf8'),
    ) as { templating: { list: Array<{ current?: { value?: string } }> } };
    // the dashboard's data source variable defaults to the provisioned data source
    expect(dashboard.templating.list[0]?.current?.value).toBe(datasource?.uid);

    const home = services.grafana?.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? '';
    expect(posix.dirname(home)).toBe(dashboardPath);
    expect(existsSync(join(dashboards!.repoPath!, posix.basename(home)))).toBe(true);
  });

  it('scrapes the compose services of every app on the ports they listen on, at /metrics', () => {
    const discovered = prometheusConfig.scrape_configs.filter((job) => job.dns_sd_configs);
    const scraped = discovered.flatMap((job) =>
      (job.dns_sd_configs ?? []).flatMap((sd) =>
        sd.names.map((name) => ({ job, name, port: sd.port, type: sd.type })),
      ),
    );
    expect(scraped.map((target) => target.name).sort()).toEqual([...APP_SERVICES].sort());

    for (const { job, name, port, type } of scraped) {
      const service = name as (typeof APP_SERVICES)[number];
      const environment = services[service]?.environment ?? {};
      const tls = Object.keys(environment).some((variable) => /_TLS_CERT_FILE$/.test(variable));
      expect({ name, port, type, path: job.metrics_path }).toEqual({
        name,
        port: Number(environment[PORT_VARIABLE[service]]),
        type: 'A',
        path: '/metrics',
      });
      expect({ name, scheme: job.scheme ?? 'http' }).toEqual({
        name,
        scheme: tls ? 'https' : 'http',
      });
      if (tls) expect(job.tls_config?.server_name).toBe(name);
    }
    const self = prometheusConfig.scrape_configs.find((job) => job.job_name === 'prometheus');
    expect(self?.static_configs?.[0]?.targets).toEqual(['localhost:9090']);
  });

  it('hands Prometheus the CA bundle the apps use, and none of their private material', () => {
    const caFiles = new Set(
      prometheusConfig.scrape_configs.flatMap((job) => job.tls_config?.ca_file ?? []),
    );
    expect(caFiles.size).toBe(1);
    const [caFile = ''] = caFiles;
    const caMount = mountHolding('prometheus', caFile);
    expect(caMount).toMatchObject({ source: 'prometheus-ca', readOnly: true });
    expect(mountsOf('prometheus').map((mount) => mount.source)).not.toContain('material');

    // prometheus-ca copies the bundle the apps trust into that volume, under the same file name
    const copy = services['prometheus-ca']?.command ?? [];
    const written = copy.at(-1) ?? '';
    const intoVolume = mountHolding('prometheus-ca', written);
    expect(copy.slice(0, 3)).toEqual(['install', '-m', '0644']);
    expect(copy.at(-2)).toBe(services.listener?.environment?.LISTENER_CLIENT_CA_FILE);
    expect(intoVolume?.source).toBe('prometheus-ca');
    expect(written.slice(intoVolume!.target.length)).toBe(caFile.slice(caMount!.target.length));
    expect(mountHolding('prometheus-ca', copy.at(-2) ?? '')).toMatchObject({
      source: 'material',
      readOnly: true,
    });
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

    it('Prometheus reaches each app on the port and scheme it serves, under a name its certificate holds', () => {
      const authServer = loadAuthServerConfig(localEnv('auth-server'));
      const listener = loadListenerSettings(withFileSecrets(localEnv('listener')));
      const worker = loadWorkerConfig(localEnv('worker'));
      const served: Record<string, { port: number; cert?: string }> = {
        'auth-server': { port: authServer.port, cert: authServer.tls.cert },
        listener: { port: listener.env.LISTENER_PORT, cert: listener.tls?.cert.toString('utf8') },
        worker: { port: worker.http.port },
      };
      const bundle = readFileSync(join(dir, 'pki/ca-bundle.pem'), 'utf8')
        .split(/(?=-----BEGIN CERTIFICATE-----)/)
        .map((pem) => new X509Certificate(pem));

      for (const job of prometheusConfig.scrape_configs) {
        for (const sd of job.dns_sd_configs ?? []) {
          for (const name of sd.names) {
            const app = served[name];
            expect([name, sd.port]).toEqual([name, app?.port]);
            expect([name, job.scheme]).toEqual([name, app?.cert ? 'https' : 'http']);
            if (app?.cert === undefined) continue;
            const leaf = new X509Certificate(app.cert);
            expect([name, leaf.checkHost(job.tls_config?.server_name ?? '')]).toEqual([name, name]);
            expect(bundle.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))).toBe(
              true,
            );
          }
        }
      }
    });

    it("the worker's configuration validation accepts its environment", () => {
      const config = loadWorkerConfig(localEnv('worker'));
      expect(config.role).toBe('all');
      expect(config.payloadDir).toBe(`${dir}/data/payloads`);
    });
  });
});
