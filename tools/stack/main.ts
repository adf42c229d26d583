import { join, resolve } from 'node:path';

import { Command, Option } from 'commander';

import { ensureDevMaterial } from './dev-material.js';
import { RedisUnavailableError } from './local-redis.js';
import { repoRoot } from './repo-root.js';
import { COMPOSE_LAYOUT } from './compose-layout.js';
import { writeStackConfig } from './stack-config.js';
import { DEFAULT_PORTS, startStack, type RunningStack } from './stack.js';

interface UpOptions {
  dir?: string;
  logs: 'forward' | 'files';
  ephemeralPorts?: boolean;
}

interface InitOptions {
  dir: string;
  compose?: boolean;
}

async function up(options: UpOptions): Promise<number> {
  // Ctrl-C during start-up stops what already started instead of leaving it running
  const startup = new AbortController();
  const interrupt = () => startup.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  let stack: RunningStack;
  try {
    stack = await startStack({
      dir: options.dir,
      logs: options.logs,
      ports: options.ephemeralPorts ? 'ephemeral' : 'default',
      signal: startup.signal,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (startup.signal.aborted) {
      console.error('stack: interrupted during start-up; everything started was stopped');
      return 130;
    }
    console.error(
      error instanceof RedisUnavailableError ? message : `stack: could not start: ${message}`,
    );
    return 1;
  } finally {
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
  }
  if (startup.signal.aborted) {
    await stack.stop();
    return 130;
  }

  const { urls, files } = stack.config;
  const { layout } = stack;
  const busy = (
    [
      ['auth-server', DEFAULT_PORTS.auth, layout.authPort],
      ['listener', DEFAULT_PORTS.listener, layout.listenerPort],
      ['worker', DEFAULT_PORTS.worker, layout.workerPort],
    ] as const
  )
    .filter(([, wanted, got]) => !options.ephemeralPorts && wanted !== got)
    .map(([app, wanted, got]) => `  note: port ${wanted} was busy, so the ${app} took ${got}`);
  console.log(
    [
      '',
      'Countersign is up:',
      `  auth-server  ${urls.issuer}  (token endpoint ${urls.tokenEndpoint})`,
      `  listener     ${urls.deliveryUrl}`,
      `  worker       ${urls.worker}  (GET /envelopes/<envelopeId>/status)`,
      `  redis        ${stack.redis.url}  (QUEUE_PREFIX=${stack.layout.queuePrefix})`,
      `  settings     ${files.devEnv}`,
      options.logs === 'files' ? `  logs         ${stack.logsDir}` : '',
      ...busy,
      '',
      `Send the fixtures: npm run simulate -- --settings ${files.simulator}`,
      'Stop: Ctrl-C',
      '',
    ]
      .filter((line, index, all) => line !== '' || all[index - 1] !== '')
      .join('\n'),
  );

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: stopping the apps`);
      stack.stop().then(
        () => resolveExit(0),
        (error: unknown) => {
          console.error(`stack: stop failed: ${String(error)}`);
          resolveExit(1);
        },
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    for (const app of stack.apps) {
      void app.exited.then((exit) => {
        if (!stopping) {
          console.error(
            `stack: ${app.name} exited (${exit.code ?? exit.signal}); stopping the others`,
          );
          stop('SIGTERM');
        }
      });
    }
  });
}

async function init(options: InitOptions): Promise<number> {
  const { material, created } = await ensureDevMaterial(resolve(options.dir));
  created.forEach((path) => console.log(`created ${path}`));
  if (options.compose) {
    const config = await writeStackConfig(material, COMPOSE_LAYOUT);
    console.log(`wrote ${Object.values(config.files).join(', ')}`);
  }
  return 0;
}

const program = new Command('stack').description(
  'The Countersign development stack: auth-server, listener and worker from dist/.',
);
program
  .command('up', { isDefault: true })
  .description('create .countersign/ on first run, then start everything until Ctrl-C')
  .option('--dir <dir>', 'development material directory (default <repo>/.countersign)')
  .addOption(
    new Option('--logs <where>', 'app logs: prefixed on this terminal, or files in <dir>/logs')
      .choices(['forward', 'files'])
      .default('forward'),
  )
  .option('--ephemeral-ports', 'take free ports instead of 8443/9443/8090')
  .action(async (options: UpOptions) => {
    process.exitCode = await up(options);
  });
program
  .command('init')
  .description('only create the development material (used by the compose PKI step)')
  .option('--dir <dir>', 'material directory', join(repoRoot(), '.countersign'))
  .option('--compose', 'also write the config files for docker/compose.yml service names')
  .action(async (options: InitOptions) => {
    process.exitCode = await init(options);
  });

await program.parseAsync();
