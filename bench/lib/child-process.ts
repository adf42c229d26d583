import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { fromRoot } from './paths.js';

/** A server under test running as its own process, so the load generator does not share it. */
export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly logFile: string;
  /** Resident set size in bytes, read from /proc. */
  rssBytes(): number;
  /**
   * CPU seconds (user + system) the process has used so far, from /proc. CPU per request is far
   * steadier than requests per second on a shared machine, where neighbours take wall time.
   */
  cpuSeconds(): number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** How to start one side. */
export interface StartOptions {
  readonly name: string;
  /** Script path relative to the repository root, e.g. dist/apps/listener/src/main.js. */
  readonly script: string;
  readonly env: Record<string, string>;
  readonly port: number;
  /** Ready when this HTTP(S) URL answers with one of `readyStatuses`... */
  readonly readyUrl?: string;
  /** ...or when the process prints a line matching this. */
  readonly readyLine?: RegExp;
  readonly readyStatuses?: number[];
  readonly readyTimeoutMs?: number;
  /** Extra node flags, e.g. `--cpu-prof`. */
  readonly nodeArgs?: string[];
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function probe(url: string): Promise<number> {
  return new Promise((resolve) => {
    const options = { rejectUnauthorized: false, agent: false, timeout: 1000 };
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, options, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

function readRss(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

function readCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the parenthesised command name; utime and stime are fields 14 and 15
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Starts `node <script>` with `env` (on top of PATH/HOME only) and waits until it is ready. */
export async function startServer(options: StartOptions): Promise<ServerProcess> {
  const logDir = fromRoot('bench/results/logs');
  await mkdir(logDir, { recursive: true });
  const logFile = join(logDir, `${options.name}.log`);
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), fromRoot(options.script)],
    {
      cwd: fromRoot(),
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let sawReadyLine = false;
  if (options.readyLine !== undefined) {
    const pattern = options.readyLine;
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      if (lines.some((line) => pattern.test(line))) sawReadyLine = true;
    });
  }
  let exited: number | string | null = null;
  const gone = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = code ?? signal ?? 'unknown';
      resolve();
    });
  });

  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  const accepted = options.readyStatuses ?? [200];
  for (;;) {
    if (exited !== null) {
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
      throw new Error(`${options.name} exited (${String(exited)}) before it was ready:\n${tail}`);
    }
    if (sawReadyLine) break;
    if (options.readyUrl !== undefined && accepted.includes(await probe(options.readyUrl))) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} was not ready within the timeout; see ${logFile}`);
    }
    await sleep(200);
  }

  const pid = child.pid ?? 0;
  return {
    name: options.name,
    pid,
    port: options.port,
    logFile,
    rssBytes: () => readRss(pid),
    cpuSeconds: () => readCpuSeconds(pid),
    stop: async (graceMs = 10_000) => {
      if (exited !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
    },
  };
}
