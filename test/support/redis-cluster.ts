import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A three-master Redis Cluster of local `redis-server` processes, for one test file (any app). */
export interface RunningRedisCluster {
  readonly ports: readonly number[];
  /** The seed nodes as REDIS_CLUSTER_NODES takes them. */
  readonly nodes: string;
  stop(): Promise<void>;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function cli(...args: string[]): { ok: boolean; output: string } {
  const run = spawnSync('redis-cli', args, { encoding: 'utf8', timeout: 30_000 });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/**
 * Starts three cluster-enabled `redis-server`s on free ports (their bus ports, +10000, free too),
 * joins them with `redis-cli --cluster create` and waits until every node reports the cluster ok.
 */
export async function startRedisCluster(): Promise<RunningRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'cs-redis-cluster-'));
  const ports: number[] = [];
  while (ports.length < 3) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    if (!ports.includes(port) && (await isFree(port)) && (await isFree(port + 10000))) {
      ports.push(port);
    }
  }

  const servers: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
        ...['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`],
        ...['--cluster-node-timeout', '5000', '--save', '', '--appendonly', 'no'],
      ],
      { stdio: 'ignore' },
    ),
  );
  const stop = async () => {
    for (const server of servers) server.kill('SIGTERM');
    await Promise.all(
      servers.map(
        (server) =>
          new Promise((resolve) =>
            server.exitCode !== null ? resolve(undefined) : server.once('exit', resolve),
          ),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await until(
      () => ports.every((port) => cli('-p', String(port), 'ping').output.includes('PONG')),
      'the redis-servers to answer',
    );
    const created = cli(
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-yes',
    );
    if (!created.ok) throw new Error(`cluster create failed: ${created.output}`);
    await until(
      () =>
        ports.every((port) =>
          cli('-p', String(port), 'cluster', 'info').output.includes('cluster_state:ok'),
        ),
      'the cluster to agree',
    );
  } catch (error) {
    await stop();
    throw error;
  }

  return { ports, nodes: ports.map((port) => `127.0.0.1:${port}`).join(','), stop };
}
