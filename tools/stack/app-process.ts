import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { Agent, get as httpsGet } from 'node:https';
import { get as httpGet } from 'node:http';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where a child's output goes: prefixed onto this terminal, or into a file. */
export type LogTarget =
  { readonly kind: 'forward' } | { readonly kind: 'file'; readonly path: string };

export interface AppProcessOptions {
  readonly name: string;
  readonly script: string;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly logs: LogTarget;
  /** GET this until it answers 200. */
  readonly readyUrl: string;
  /** CA bundle for an https readiness URL. */
  readonly ca?: string;
  readonly readyTimeoutMs?: number;
  /** Aborting it gives up waiting (the process is stopped). */
  readonly signal?: AbortSignal;
}

/** How an app ended; `forced` means it ignored SIGTERM for the whole grace period. */
export interface AppExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly forced: boolean;
}

/** One app running as a child process of the stack. */
export class AppProcess {
  private readonly recent: string[] = [];
  private forced = false;
  /** How long the app took from spawn to its first 200 on the readiness URL. */
  readyAfterMs = 0;
  /** Resolves once the process has exited: its code, or the signal that ended it. */
  readonly exited: Promise<AppExit>;
  private logFile?: WriteStream;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    logs: LogTarget,
  ) {
    if (logs.kind === 'file') {
      this.logFile = createWriteStream(logs.path, { flags: 'a', mode: 0o600 });
    }
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => this.onLine(line));
    }
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, forced: this.forced })),
    );
  }

  /** Starts the script with `node` and waits until its readiness URL answers 200. */
  static async start(options: AppProcessOptions): Promise<AppProcess> {
    const child = spawn(process.execPath, [options.script], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const app = new AppProcess(options.name, child, options.logs);
    const startedAt = Date.now();
    await app.waitReady(options);
    app.readyAfterMs = Date.now() - startedAt;
    return app;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 10_000, say?: (line: string) => void): Promise<AppExit> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const code = await Promise.race([
        this.exited,
        sleep(graceMs, 'timeout' as const, { ref: false }),
      ]);
      if (code === 'timeout') {
        say?.(`${this.name} did not exit within ${graceMs} ms of SIGTERM; killing it`);
        this.forced = true;
        this.child.kill('SIGKILL');
      }
    }
    const exit = await this.exited;
    await new Promise<void>((resolve) => (this.logFile ? this.logFile.end(resolve) : resolve()));
    return exit;
  }

  private onLine(line: string): void {
    this.recent.push(line);
    if (this.recent.length > 40) this.recent.shift();
    if (this.logFile) {
      this.logFile.write(`${line}\n`);
    } else {
      process.stdout.write(`[${this.name}] ${line}\n`);
    }
  }

  private async waitReady(options: AppProcessOptions): Promise<void> {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
    const agent = options.ca ? new Agent({ ca: options.ca, keepAlive: false }) : undefined;
    try {
      while (Date.now() < deadline) {
        if (options.signal?.aborted) {
          await this.stop(2000);
          throw new Error(`${this.name}: start-up interrupted`);
        }
        if (this.child.exitCode !== null || this.child.signalCode !== null) {
          throw new Error(
            `${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) while starting:\n` +
              this.recent.slice(-15).join('\n'),
          );
        }
        if ((await statusOf(options.readyUrl, agent)) === 200) {
          return;
        }
        await sleep(150);
      }
    } finally {
      agent?.destroy();
    }
    await this.stop(2000);
    throw new Error(
      `${this.name} was not ready at ${options.readyUrl} in time:\n${this.recent.slice(-15).join('\n')}`,
    );
  }
}

/** The HTTP status of a GET, or 0 when nothing answered. */
export function statusOf(url: string, agent?: Agent): Promise<number> {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const req = get(url, agent ? { agent } : {}, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(2000, () => req.destroy());
    req.on('error', () => resolve(0));
  });
}
