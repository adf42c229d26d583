import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { Command, InvalidArgumentError } from 'commander';

import { fromRoot } from './paths.js';

/** Options every scenario understands. */
export interface CommonOptions {
  /** Seconds of load per measurement and side. */
  readonly seconds: number;
  readonly redisUrl: string;
  /** Run the servers under `node --cpu-prof`; profiles go to bench/results/profiles/. */
  readonly cpuProf: boolean;
  /** Exit non-zero when a target is missed (for CI gates; off by default since machines drift). */
  readonly strict: boolean;
}

function positive(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new InvalidArgumentError('must be a positive number');
  }
  return parsed;
}

/** A commander program with the common options; scenarios add their own. */
export function scenarioProgram(name: string, description: string, defaultSeconds = 10): Command {
  return new Command(name)
    .description(description)
    .option('--seconds <n>', 'seconds of load per measurement and side', positive, defaultSeconds)
    .option('--redis-url <url>', 'Redis to use', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
    .option('--cpu-prof', 'run the servers under node --cpu-prof', false)
    .option('--strict', 'exit 1 when a target is missed', false);
}

/** Node flags that write a CPU profile named after `label` when the process exits. */
export function profileArgs(enabled: boolean, label: string): string[] {
  if (!enabled) return [];
  return [
    '--cpu-prof',
    `--cpu-prof-dir=${fromRoot('bench/results/profiles')}`,
    `--cpu-prof-name=${label}.cpuprofile`,
  ];
}

/** Whether the module with this `import.meta.url` is the script node was started with. */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** Runs a scenario's main, printing a failure without a stack dump and exiting non-zero. */
export function runMain(main: () => Promise<boolean>): void {
  main().then(
    (passed) => process.exit(passed ? 0 : 1),
    (error: unknown) => {
      process.stderr.write(
        `bench failed: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(2);
    },
  );
}
