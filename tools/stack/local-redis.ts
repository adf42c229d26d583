import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { freePort } from './free-port.js';

/** The Redis the stack uses, and how to stop it when the stack started it. */
export interface StackRedis {
  readonly url: string;
  /** True when the stack started its own `redis-server`. */
  readonly started: boolean;
  stop(): Promise<void>;
}

/** Stops start-up with instructions a person can follow. */
export class RedisUnavailableError extends Error {
  constructor(url: string) {
    super(
      `Redis does not answer at ${url} and no redis-server is installed.\n` +
        '  Install one:   sudo apt-get install redis-server   (or: brew install redis)\n' +
        '  or run one:    docker run -d -p 6379:6379 redis:7 --appendonly yes\n' +
        '  or point REDIS_URL at a Redis 7 that answers.',
    );
    this.name = 'RedisUnavailableError';
  }
}

/** True when a Redis at `url` answers PING within `timeoutMs` (plain redis:// URLs only). */
export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'redis:') {
    // rediss:// or an authenticated Redis: trust the configuration, the apps will tell
    return parsed.protocol === 'rediss:' || parsed.password !== '';
  }
  return new Promise((resolve) => {
    const socket = createConnection({
      host: parsed.hostname || '127.0.0.1',
      port: parsed.port ? Number(parsed.port) : 6379,
    });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data: Buffer) => done(data.toString('latin1').startsWith('+PONG')));
  });
}

function installed(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Uses the Redis at `url` when it answers; otherwise starts a local `redis-server` (append-only
 * file in `dataDir`, loopback only, a free port) when one is installed.
 */
export async function ensureRedis(
  url: string,
  dataDir: string,
  redisServer = 'redis-server',
): Promise<StackRedis> {
  if (await redisAnswers(url)) {
    return { url, started: false, stop: () => Promise.resolve() };
  }
  if (!installed(redisServer)) {
    throw new RedisUnavailableError(url);
  }

  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const port = await freePort(6380);
  const child: ChildProcess = spawn(
    redisServer,
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--dir',
      dataDir,
      '--appendonly',
      'yes',
      '--maxmemory-policy',
      'noeviction',
      '--save',
      '',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const localUrl = `redis://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  for (let tries = 0; tries < 50; tries += 1) {
    if (await redisAnswers(localUrl, 200)) {
      return {
        url: localUrl,
        started: true,
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      };
    }
    if (child.exitCode !== null) {
      break;
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer on ${localUrl}`);
}
