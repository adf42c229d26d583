import { readFileSync } from 'node:fs';

import { ConfigurationError } from '@countersign/common';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

import { CLIENT_AUTH_METHODS, type ClientAuthMethod } from '../clients/clients-file.schema.js';
import { isSigningAlgorithm, SIGNING_ALGORITHMS } from '../config/auth-server.env.js';
import { createSigningKey, pruneSigningKeys } from '../keys/key-directory.js';
import { addClient } from './clients-file.writer.js';

/** Where the CLI writes: stdout for results, stderr for notes. */
export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

/**
 * One line that says why a command failed. Messages are built from names, paths and rules only:
 * no error here carries a secret or the content of a file.
 */
export function describeFailure(error: unknown): string {
  if (error instanceof ConfigurationError) {
    return `invalid configuration in ${error.source}: ${error.problems.join('; ')}`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ').trim() || 'unknown failure';
}

// commander prints what it refuses while parsing, but not what an action throws: print that here
function reported<A extends unknown[]>(
  action: (...args: A) => Promise<void>,
): (this: Command, ...args: A) => Promise<void> {
  return async function (this: Command, ...args: A) {
    try {
      await action(...args);
    } catch (error) {
      this.error(`error: ${describeFailure(error)}`, { exitCode: 1, code: 'countersign.failed' });
    }
  };
}

function seconds(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) {
    throw new InvalidArgumentError('must be a whole number of seconds');
  }
  return parsed;
}

/**
 * `clients add` registers a client into the clients file and prints its secret once;
 * `keys rotate` adds a signing key that the running server picks up on its next directory read.
 */
export function buildAuthCli(env: Record<string, string | undefined>, output: CliOutput): Command {
  const program = new Command('clients')
    .description('Countersign auth-server administration')
    .configureOutput({ writeOut: (text) => output.out(text), writeErr: (text) => output.err(text) })
    .exitOverride();

  // subcommands copy the parent's settings when created, so exitOverride comes first
  const clients = program.command('clients').description('registered OAuth clients');
  clients
    .command('add')
    .description('register a client; a generated secret is printed once and stored as a hash')
    .addOption(
      new Option('--file <path>', 'clients file (default: AUTH_CLIENTS_FILE)').default(
        env.AUTH_CLIENTS_FILE,
      ),
    )
    .option('--id <client_id>', 'client id (default: generated)')
    .addOption(
      new Option('--method <method>', 'token_endpoint_auth_method')
        .choices([...CLIENT_AUTH_METHODS])
        .makeOptionMandatory(),
    )
    .requiredOption('--scope <scopes>', 'allowed scopes, space separated')
    .requiredOption('--audience <url>', 'the aud of its tokens (the listener URL)')
    .option('--ttl <seconds>', 'token lifetime for this client', seconds)
    .option('--bound', 'require certificate-bound tokens', false)
    .option('--subject-dn <dn>', 'tls_client_auth: RFC 4514 subject DN')
    .option('--san-dns <name>', 'tls_client_auth: dNSName SAN')
    .option('--san-uri <uri>', 'tls_client_auth: URI SAN')
    .option('--san-ip <ip>', 'tls_client_auth: iPAddress SAN')
    .option('--san-email <email>', 'tls_client_auth: rfc822Name SAN')
    .option('--cert <file>', 'self_signed_tls_client_auth: the client certificate (PEM)')
    .action(
      reported(async (options: Record<string, string | number | boolean | undefined>) => {
        if (typeof options.file !== 'string') {
          throw new Error('--file or AUTH_CLIENTS_FILE is required');
        }
        const text = (name: string) =>
          typeof options[name] === 'string' ? options[name] : undefined;
        const subject = {
          tls_client_auth_subject_dn: text('subjectDn'),
          tls_client_auth_san_dns: text('sanDns'),
          tls_client_auth_san_uri: text('sanUri'),
          tls_client_auth_san_ip: text('sanIp'),
          tls_client_auth_san_email: text('sanEmail'),
        };
        const certFile = text('cert');
        const added = await addClient(options.file, {
          clientId: text('id'),
          method: options.method as ClientAuthMethod,
          scope: String(options.scope),
          audience: String(options.audience),
          tokenTtlSeconds: typeof options.ttl === 'number' ? options.ttl : undefined,
          boundTokens: options.bound === true,
          subject: Object.fromEntries(Object.entries(subject).filter(([, v]) => v !== undefined)),
          certificatePem: certFile === undefined ? undefined : readFileSync(certFile, 'utf8'),
        });
        output.out(`client_id: ${added.clientId}`);
        if (added.secret !== undefined) {
          output.out(`client_secret: ${added.secret}`);
          output.err('The secret is shown only now; the clients file keeps only its hash.');
        }
        output.err('Restart the auth-server to load the new client.');
      }),
    );

  const keys = program.command('keys').description('token signing keys');
  keys
    .command('rotate')
    .description('add a signing key; older keys stay published until their tokens expire')
    .addOption(
      new Option('--dir <path>', 'keys directory (default: AUTH_KEYS_DIR)').default(
        env.AUTH_KEYS_DIR ?? '.countersign/auth-server/keys',
      ),
    )
    .addOption(
      new Option('--alg <alg>', 'signing algorithm')
        .choices([...SIGNING_ALGORITHMS])
        .default(env.AUTH_SIGNING_ALG ?? 'ES256'),
    )
    .option(
      '--activate-after <seconds>',
      'publish now, start signing later (lets resource servers fetch the key first)',
      seconds,
      0,
    )
    .action(
      reported(async (options: { dir: string; alg: string; activateAfter: number }) => {
        // commander checks --alg against its choices, not the default from the environment
        if (!isSigningAlgorithm(options.alg)) {
          throw new Error(
            `AUTH_SIGNING_ALG: ${JSON.stringify(options.alg)} is not allowed; ` +
              `use one of ${SIGNING_ALGORITHMS.join(', ')}`,
          );
        }
        const key = await createSigningKey(options.dir, options.alg, {
          activateAfterSeconds: options.activateAfter,
        });
        output.out(`kid: ${key.kid}`);
        output.out(`alg: ${key.alg}`);
        output.out(`activates at: ${key.activatesAt}`);
        output.err('The running auth-server picks the key up on its next directory read.');
      }),
    );

  keys
    .command('prune')
    .description('delete retired keys whose tokens have all expired (never the active key)')
    .addOption(
      new Option('--dir <path>', 'keys directory (default: AUTH_KEYS_DIR)').default(
        env.AUTH_KEYS_DIR ?? '.countersign/auth-server/keys',
      ),
    )
    .option(
      '--max-token-ttl <seconds>',
      'longest token lifetime of any client (the default is the largest allowed, 3600)',
      seconds,
      3600,
    )
    .action(
      reported(async (options: { dir: string; maxTokenTtl: number }) => {
        const removed = await pruneSigningKeys(options.dir, options.maxTokenTtl);
        for (const kid of removed) output.out(`removed: ${kid}`);
        if (removed.length === 0) output.err('No key is old enough to remove.');
      }),
    );

  return program;
}

/**
 * Runs the CLI on `argv` (as in `process.argv`) and returns the exit code. Every failure leaves
 * one line on stderr: commander's own for what it refuses while parsing, ours for the rest.
 */
export async function runAuthCli(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  output: CliOutput,
): Promise<number> {
  const program = buildAuthCli(env, output);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // already printed, by commander or by `reported` (or the help was shown)
      return error.exitCode;
    }
    output.err(`error: ${describeFailure(error)}`);
    return 1;
  }
}
