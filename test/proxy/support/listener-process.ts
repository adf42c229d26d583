import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import { send } from './http-client.js';

/**
 * The built listener; `npm test` builds dist/ before the suites run. COUNTERSIGN_DIST_DIR points at
 * another build output (e.g. a private one while dist/ is being rebuilt by someone else).
 */
export const LISTENER_MAIN = resolve(
  process.env.COUNTERSIGN_DIST_DIR ?? resolve(import.meta.dirname, '../../../dist'),
  'apps/listener/src/main.js',
);

/** A listener child process started for one test file. */
export interface RunningListener {
  readonly port: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `node dist/apps/listener/src/main.js` with exactly `env` and waits for /health/live. */
export async function startListener(
  env: Record<string, string>,
  health: { port: number; ca?: string },
): Promise<RunningListener> {
  if (!existsSync(LISTENER_MAIN)) {
    throw new Error(
      `${LISTENER_MAIN} is missing: build first (npm test does; by hand: npx tsc -p tsconfig.build.json && npx tsc-alias -p tsconfig.build.json)`,
    );
  }
  const child = spawn(process.execPath, [LISTENER_MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((done) => child.on('exit', () => done()));

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`the listener exited with code ${child.exitCode}:\n${output}`);
    }
    const live = await send({
      port: health.port,
      path: '/health/live',
      method: 'GET',
      headers: {},
      body: Buffer.alloc(0),
      tls: health.ca === undefined ? undefined : { ca: health.ca },
    }).catch(() => undefined);
    if (live?.status === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the listener did not become live on ${health.port} within 20 s:\n${output}`);
    }
    await new Promise((wait) => setTimeout(wait, 100));
  }

  return {
    port: health.port,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
