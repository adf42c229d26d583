import { hash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { AppProcess, type LogTarget } from './app-process.js';
import { ensureDevMaterial, type DevMaterial } from './dev-material.js';
import type { DevPkiProvider } from './dev-pki-paths.js';
import { freePort } from './free-port.js';
import { ensureRedis, type StackRedis } from './local-redis.js';
import { repoRoot } from './repo-root.js';
import { writeStackConfig, type StackConfig, type StackLayout } from './stack-config.js';

/** Default ports of `npm run stack`; a busy one is replaced by a free one. */
export const DEFAULT_PORTS = { auth: 8443, listener: 9443, worker: 8090 } as const;

export interface StackOptions {
  /** Development material directory (default `<repo>/.countersign`). */
  readonly dir?: string;
  /** Default: REDIS_URL, else redis://127.0.0.1:6379. */
  readonly redisUrl?: string;
  /** Default: QUEUE_PREFIX, else `countersign-<8 hex>` of the material directory (defaultQueuePrefix). */
  readonly queuePrefix?: string;
  /** `default` tries 8443/9443/8090 first; `ephemeral` always takes free ports. */
  readonly ports?: 'default' | 'ephemeral';
  /** `forward` prefixes the apps' lines onto stdout; `files` writes them to the logs directory. */
  readonly logs?: 'forward' | 'files';
  /** Payloads, archive, audit log and logs of this run go here instead of under `dir`. */
  readonly runDir?: string;
  readonly inlinePayloadMaxBytes?: number;
  readonly pkiProvider?: DevPkiProvider;
  /** Aborting it during start-up stops what was started and rejects. */
  readonly signal?: AbortSignal;
  /** Progress lines for a person (default: console.log). */
  readonly say?: (line: string) => void;
}

/** The three apps running as child processes, with what they were started from. */
export interface RunningStack {
  readonly material: DevMaterial;
  readonly config: StackConfig;
  readonly layout: StackLayout;
  readonly redis: StackRedis;
  readonly logsDir: string;
  readonly apps: readonly AppProcess[];
  /** Stops the apps (SIGTERM, then SIGKILL after a grace period) and a Redis it started. */
  stop(): Promise<void>;
}

/**
 * One key root per material directory: two checkouts (or two `--dir`s) sharing a Redis never
 * consume each other's deliveries or share rate-limit and revocation keys.
 */
export function defaultQueuePrefix(materialDir: string): string {
  return `countersign-${hash('sha256', resolve(materialDir), 'hex').slice(0, 8)}`;
}

const APP_PREFIXES = ['AUTH_', 'LISTENER_', 'WORKER_', 'REDIS_', 'QUEUE_PREFIX', 'CONNECT_HMAC_'];

/** This process's environment without any setting of ours, so each app gets exactly its own. */
function baseEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!APP_PREFIXES.some((prefix) => name.startsWith(prefix))) env[name] = value;
  }
  return env;
}

/**
 * Brings the development stack up from the build in dist/: material, Redis, then the
 * auth-server (the listener needs its JWKS), then the listener and the worker.
 */
export async function startStack(options: StackOptions = {}): Promise<RunningStack> {
  const say = options.say ?? ((line: string) => console.log(line));
  const root = repoRoot();
  const dir = resolve(options.dir ?? join(root, '.countersign'));

  const { material, created } = await ensureDevMaterial(dir, options.pkiProvider);
  if (created.length > 0) {
    say(`created development material in ${dir}:`);
    created.forEach((path) => say(`  ${path}`));
  }

  const redis = await ensureRedis(
    options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    material.redisDir,
  );
  say(redis.started ? `started redis-server at ${redis.url}` : `using Redis at ${redis.url}`);

  const runDir = options.runDir ? resolve(options.runDir) : undefined;
  const dataDirs = runDir
    ? {
        payloadDir: join(runDir, 'payloads'),
        archiveDir: join(runDir, 'archive'),
        auditLogFile: join(runDir, 'audit', 'audit.jsonl'),
        logsDir: join(runDir, 'logs'),
      }
    : {
        payloadDir: material.payloadDir,
        archiveDir: material.archiveDir,
        auditLogFile: material.auditLogFile,
        logsDir: material.logsDir,
      };
  for (const path of [
    dataDirs.payloadDir,
    dataDirs.archiveDir,
    join(dataDirs.auditLogFile, '..'),
    dataDirs.logsDir,
  ]) {
    await mkdir(path, { recursive: true, mode: 0o700 });
  }

  const fixed = options.ports !== 'ephemeral';
  const layout: StackLayout = {
    bindHost: '127.0.0.1',
    authHost: '127.0.0.1',
    listenerHost: '127.0.0.1',
    workerHost: '127.0.0.1',
    authPort: await freePort(fixed ? DEFAULT_PORTS.auth : 0),
    listenerPort: await freePort(fixed ? DEFAULT_PORTS.listener : 0),
    workerPort: await freePort(fixed ? DEFAULT_PORTS.worker : 0),
    redisUrl: redis.url,
    queuePrefix: options.queuePrefix ?? process.env.QUEUE_PREFIX ?? defaultQueuePrefix(dir),
    payloadDir: dataDirs.payloadDir,
    archiveDir: dataDirs.archiveDir,
    auditLogFile: dataDirs.auditLogFile,
    inlinePayloadMaxBytes: options.inlinePayloadMaxBytes,
  };
  const config = await writeStackConfig(material, layout, runDir ?? material.dir);

  const base = baseEnvironment();
  const logTarget = (name: string): LogTarget =>
    options.logs === 'files'
      ? { kind: 'file', path: join(dataDirs.logsDir, `${name}.log`) }
      : { kind: 'forward' };
  const apps: AppProcess[] = [];
  const stopAll = async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop(10_000, say)));
    await redis.stop();
  };

  try {
    const caPem = await readFile(material.pki.caBundle, 'utf8');
    apps.push(
      await AppProcess.start({
        name: 'auth-server',
        script: join(root, 'dist/apps/auth-server/src/main.js'),
        env: { ...base, ...config.env.authServer },
        cwd: root,
        logs: logTarget('auth-server'),
        readyUrl: `${config.urls.issuer}/health/ready`,
        signal: options.signal,
        ca: caPem,
      }),
    );
    const hmacEnv = Object.fromEntries(
      material.hmacKeys.map((key, index) => [`CONNECT_HMAC_KEY_${index + 1}`, key]),
    );
    const started = await Promise.allSettled([
      AppProcess.start({
        name: 'listener',
        script: join(root, 'dist/apps/listener/src/main.js'),
        env: { ...base, ...config.env.listener, ...hmacEnv },
        cwd: root,
        logs: logTarget('listener'),
        readyUrl: `${config.urls.listener}/health/ready`,
        signal: options.signal,
        ca: caPem,
      }),
      AppProcess.start({
        name: 'worker',
        script: join(root, 'dist/apps/worker/src/main.js'),
        env: { ...base, ...config.env.worker },
        cwd: root,
        logs: logTarget('worker'),
        readyUrl: `${config.urls.worker}/health/ready`,
        signal: options.signal,
      }),
    ]);
    for (const result of started) {
      if (result.status === 'fulfilled') apps.push(result.value);
    }
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) {
      throw failed.reason;
    }
  } catch (error) {
    await stopAll();
    throw error;
  }

  say(
    apps.map((app) => `${app.name} ready in ${(app.readyAfterMs / 1000).toFixed(1)} s`).join(', '),
  );
  return {
    material,
    config,
    layout,
    redis,
    logsDir: dataDirs.logsDir,
    apps,
    stop: stopAll,
  };
}
