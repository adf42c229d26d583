import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { Agent, get as httpsGet } from 'node:https';
import { get as httpGet } from 'node:http';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from '../../../tools/stack/free-port.js';

/** The HTTP status of a GET, or 0 when nothing answered. */
export function statusOf(url: string, ca?: string): Promise<number> {
  return new Promise((resolve) => {
    const done = (status: number) => resolve(status);
    const request = url.startsWith('https:')
      ? httpsGet(url, { agent: new Agent({ ca, keepAlive: false }) }, (response) => {
          response.resume();
          response.on('end', () => done(response.statusCode ?? 0));
        })
      : httpGet(url, (response) => {
          response.resume();
          response.on('end', () => done(response.statusCode ?? 0));
        });
    request.setTimeout(2000, () => request.destroy());
    request.on('error', () => done(0));
  });
}

/** A node script run as a child process, its output kept line by line for later scanning. */
export class ChildApp {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.lines.push(line));
    }
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Starts `node <script>` and waits until `readyUrl` answers 200. */
  static async start(options: {
    name: string;
    script: string;
    env: NodeJS.ProcessEnv;
    readyUrl: string;
    ca?: string;
    timeoutMs?: number;
  }): Promise<ChildApp> {
    const child = spawn(process.execPath, [options.script], {
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const app = new ChildApp(options.name, child);
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      if ((await statusOf(options.readyUrl, options.ca)) === 200) return app;
      await sleep(100);
    }
    child.kill('SIGKILL');
    throw new Error(`${options.name} did not become ready:\n${app.lines.slice(-20).join('\n')}`);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) this.child.kill(signal);
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const outcome = await Promise.race([this.exited, sleep(graceMs, 'late' as const)]);
    if (outcome === 'late') await this.kill('SIGKILL');
  }
}

/** A redis-server of this test alone, on a free port, which the test may stop and restart. */
export class OwnRedis {
  private child?: ChildProcess;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly appendOnly: boolean,
  ) {}

  static async start(dir: string, options: { appendOnly?: boolean } = {}): Promise<OwnRedis> {
    await mkdir(dir, { recursive: true });
    const redis = new OwnRedis(await freePort(0), dir, options.appendOnly ?? false);
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server again on the same port and directory (its AOF, when enabled, reloads). */
  async restart(): Promise<void> {
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        '--appendonly',
        this.appendOnly ? 'yes' : 'no',
        '--appendfsync',
        'always',
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (await this.answers()) return;
      await sleep(50);
    }
    throw new Error(`redis-server on ${this.port} did not start`);
  }

  /** Stops the server (SIGKILL: a crash, nothing flushed beyond what was fsynced). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  private async answers(): Promise<boolean> {
    const client = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 500,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  }
}
