import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

import { generateDeliveries, loadFixtureDeliveries, type Delivery } from './deliveries.js';
import { parseDuration, parseSchedule } from './durations.js';
import {
  ATTACK_MODES,
  ConnectSimulator,
  formatOutcome,
  summarize,
  type AttackMode,
  type SimulatorOptions,
} from './simulator.js';
import { loadSimulatorSettings } from './simulator-settings.js';

const DEFAULT_SETTINGS_FILE = '.countersign/simulator.json';

/** Exit codes: 0 as expected, 1 a delivery failed or an attack was not refused, 2 usage/setup. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_SETUP = 2;

/** Where the simulator writes, and what it reads from the environment. */
export interface SimulatorIo {
  out(line: string): void;
  err(line: string): void;
  readonly env: Record<string, string | undefined>;
}

interface CliOptions {
  settings?: string;
  listener?: string;
  profile?: string;
  tokenUrl?: string;
  clientId?: string;
  clientSecretFile?: string;
  authMethod?: 'client_secret_basic' | 'tls_client_auth';
  scope?: string;
  cert?: string;
  key?: string;
  ca?: string;
  hmacKeyFile?: string[];
  fixtures: string;
  count?: number;
  format: 'json' | 'xml';
  rate?: number;
  retrySchedule: number[];
  maxAttempts?: number;
  timeout: number;
  attack?: AttackMode;
  attackerCert?: string;
  attackerKey?: string;
}

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError('must be a positive integer');
  }
  return value;
}

function positiveNumber(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError('must be a positive number');
  }
  return value;
}

function duration(text: string): number {
  const value = parseDuration(text);
  if (value === undefined) {
    throw new InvalidArgumentError('must be a duration such as 500ms, 2s, 1m');
  }
  return value;
}

function schedule(text: string): number[] {
  const value = parseSchedule(text);
  if (value === undefined) {
    throw new InvalidArgumentError('must be a comma-separated list of durations, e.g. 1s,2s,4s');
  }
  return value;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function buildProgram(io: SimulatorIo): Command {
  return new Command('simulate')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.replace(/\n$/, '')),
      writeErr: (text) => io.err(text.replace(/\n$/, '')),
    })
    .description(
      'Acts as DocuSign Connect (OAuth client credentials + mTLS + HMAC) and posts deliveries ' +
        'to a Countersign listener profile. Settings come from --settings (default ' +
        `${DEFAULT_SETTINGS_FILE}, written by \`npm run stack\`), and each option below ` +
        'overrides them.',
    )
    .option('--settings <file>', 'simulator settings JSON')
    .option('--listener <url>', 'listener base URL, e.g. https://localhost:9443')
    .option('--profile <name>', 'listener profile (POST /connect/<profile>)')
    .option('--token-url <url>', "the authorization server's token endpoint")
    .option('--client-id <id>', 'OAuth client id')
    .option(
      '--client-secret-file <file>',
      'file holding the client secret (or set CONNECT_CLIENT_SECRET)',
    )
    .addOption(
      new Option('--auth-method <method>', 'token endpoint client authentication').choices([
        'client_secret_basic',
        'tls_client_auth',
      ]),
    )
    .option('--scope <scope>', 'scope to request')
    .option('--cert <file>', "Connect's client certificate (PEM, may hold the chain)")
    .option('--key <file>', "Connect's private key (PEM)")
    .option('--ca <file>', 'CA bundle that signed the servers')
    .option('--hmac-key-file <file>', 'file holding one HMAC key (repeat per key)', collect)
    .option('--fixtures <dir>', 'directory of .json/.xml deliveries', 'test/fixtures/connect')
    .option(
      '--count <n>',
      'send <n> generated events (new envelope ids) instead of the fixtures',
      positiveInteger,
    )
    .addOption(
      new Option('--format <format>', 'format of generated events')
        .choices(['json', 'xml'])
        .default('json'),
    )
    .option(
      '--rate <perSecond>',
      'start deliveries at this rate instead of one after another',
      positiveNumber,
    )
    .addOption(
      new Option('--retry-schedule <waits>', 'waits between attempts, e.g. 1s,2s,4s (Connect: 1d)')
        .argParser(schedule)
        .default([1000, 2000, 4000], '1s,2s,4s'),
    )
    .option('--max-attempts <n>', 'attempts per delivery (default: waits + 1)', positiveInteger)
    .addOption(
      new Option('--timeout <duration>', 'per-request timeout (Connect waits 100 s)')
        .argParser(duration)
        .default(100_000, '100s'),
    )
    .addOption(
      new Option('--attack <mode>', 'send each delivery as this attack; success = refused').choices(
        ATTACK_MODES,
      ),
    )
    .option(
      '--attacker-cert <file>',
      'certificate the attacker holds (wrong-certificate, token-bound-to-other-certificate)',
    )
    .option('--attacker-key <file>', "the attacker certificate's private key");
}

async function buildOptions(cli: CliOptions, io: SimulatorIo): Promise<SimulatorOptions> {
  const settingsFile =
    cli.settings ?? (existsSync(DEFAULT_SETTINGS_FILE) ? DEFAULT_SETTINGS_FILE : undefined);
  const base = settingsFile ? await loadSimulatorSettings(settingsFile) : undefined;
  const read = (file: string) => readFile(file, 'utf8');

  const listenerUrl = cli.listener ?? base?.listenerUrl;
  const tokenUrl = cli.tokenUrl ?? base?.tokenUrl;
  const clientId = cli.clientId ?? base?.auth.clientId;
  const method = cli.authMethod ?? base?.auth.method ?? 'client_secret_basic';
  const cert = cli.cert ? await read(cli.cert) : base?.tls.cert;
  const key = cli.key ? await read(cli.key) : base?.tls.key;
  const ca = cli.ca ? await read(cli.ca) : base?.tls.ca;
  const missing = Object.entries({ listenerUrl, tokenUrl, clientId, cert, key, ca })
    .filter(([, value]) => value === undefined)
    .map(([name]) => name);
  if (missing.length > 0) {
    throw new Error(
      `missing settings: ${missing.join(', ')} (run \`npm run stack\` once, or pass the options)`,
    );
  }

  let secret: string | undefined;
  if (method === 'client_secret_basic') {
    secret = cli.clientSecretFile
      ? (await read(cli.clientSecretFile)).trim()
      : (io.env.CONNECT_CLIENT_SECRET ??
        (base?.auth.method === 'client_secret_basic' ? base.auth.secret : undefined));
    if (!secret) {
      throw new Error('client_secret_basic needs --client-secret-file or CONNECT_CLIENT_SECRET');
    }
  }

  return {
    listenerUrl: listenerUrl as string,
    profile: cli.profile ?? base?.profile ?? 'docusign',
    tokenUrl: tokenUrl as string,
    scope: cli.scope ?? base?.scope,
    auth:
      method === 'client_secret_basic'
        ? { method, clientId: clientId as string, secret: secret as string }
        : { method, clientId: clientId as string },
    tls: { cert: cert as string, key: key as string, ca: ca as string },
    hmacKeys: cli.hmacKeyFile
      ? await Promise.all(cli.hmacKeyFile.map(async (file) => (await read(file)).trim()))
      : (base?.hmacKeys ?? []),
    retryDelaysMs: cli.retrySchedule,
    maxAttempts: cli.maxAttempts,
    timeoutMs: cli.timeout,
    attacker:
      cli.attackerCert && cli.attackerKey
        ? { cert: await read(cli.attackerCert), key: await read(cli.attackerKey) }
        : base?.attacker,
    onOutcome: (outcome) => io.out(formatOutcome(outcome)),
  };
}

/**
 * Runs the simulator on `argv` (as in `process.argv`) and returns its exit code. Usage and setup
 * problems (options, settings, fixtures, an attack that could not be sent) print one
 * `simulate: ...` line and exit 2; only a listener's 2xx to an attack counts as accepted.
 */
export async function runSimulatorCli(argv: readonly string[], io: SimulatorIo): Promise<number> {
  const program = buildProgram(io);
  try {
    program.parse([...argv]);
  } catch (error) {
    // commander has printed the refusal (or the help)
    return error instanceof CommanderError && error.exitCode !== 0 ? EXIT_SETUP : EXIT_OK;
  }
  const cli = program.opts<CliOptions>();

  let options: SimulatorOptions;
  try {
    options = await buildOptions(cli, io);
  } catch (error) {
    io.err(`simulate: ${describeSetupError(error)}`);
    return EXIT_SETUP;
  }
  let deliveries: Delivery[];
  try {
    deliveries = await readDeliveries(cli);
  } catch (error) {
    io.err(`simulate: --fixtures ${cli.fixtures}: ${describeSetupError(error)}`);
    return EXIT_SETUP;
  }
  if (deliveries.length === 0) {
    io.err(`simulate: no .json or .xml deliveries in ${cli.fixtures}`);
    return EXIT_SETUP;
  }

  const simulator = new ConnectSimulator(options);
  try {
    if (!cli.attack) {
      const outcomes = await simulator.run(deliveries, { ratePerSecond: cli.rate });
      const counts = summarize(outcomes);
      io.out(
        `${outcomes.length} deliveries: ${counts.delivered} delivered, ${counts.failed} failed; ` +
          `${simulator.tokenRequests} token request(s)`,
      );
      return counts.failed > 0 ? EXIT_FAILED : EXIT_OK;
    }

    const mode = cli.attack;
    const outcomes = await sequentially(deliveries, (delivery) => simulator.attack(mode, delivery));
    const counts = summarize(outcomes);
    const notRefused = counts.attacksAccepted + counts.attacksWithoutVerdict;
    io.out(
      `${outcomes.length} attack deliveries (${mode}): ${counts.attacksRefused} refused, ` +
        `${notRefused} not refused (${counts.attacksAccepted} accepted), ` +
        `${counts.attacksNotSent} not sent (setup error)`,
    );
    if (notRefused > 0) return EXIT_FAILED;
    if (counts.attacksNotSent > 0) {
      const first = outcomes.find((outcome) => outcome.verdict === 'setup_error');
      io.err(`simulate: ${counts.attacksNotSent} attack(s) could not be sent: ${first?.error}`);
      return EXIT_SETUP;
    }
    return EXIT_OK;
  } finally {
    simulator.close();
  }
}

function readDeliveries(cli: CliOptions): Promise<Delivery[]> {
  return cli.count
    ? generateDeliveries({ fixturesDir: cli.fixtures, count: cli.count, format: cli.format })
    : loadFixtureDeliveries(cli.fixtures);
}

// one line naming the file and the reason, without a stack trace
function describeSetupError(error: unknown): string {
  const errno = error as NodeJS.ErrnoException;
  if (typeof errno?.code === 'string' && typeof errno.path === 'string') {
    return `cannot read ${errno.path} (${errno.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

async function sequentially<T, R>(items: readonly T[], run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (const item of items) {
    results.push(await run(item));
  }
  return results;
}
