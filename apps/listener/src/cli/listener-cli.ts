import { Command, CommanderError } from 'commander';
import { hashSecret } from '@countersign/security';

/** Where the CLI reads and writes; the process streams in production, buffers in tests. */
export interface CliIo {
  readonly stdin: AsyncIterable<Buffer | string>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

async function readAll(input: AsyncIterable<Buffer | string>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The listener's operator commands. `hash-password` reads a Basic password from stdin (never from
 * the command line, where it would land in shell history) and prints the scrypt hash to put in a
 * profile's `basic.passwordHash`.
 */
export async function runListenerCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const program = new Command('listener')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  program
    .command('hash-password')
    .description('read a Basic password from stdin and print its scrypt hash for a profile')
    .action(async () => {
      // one trailing newline is what `echo` or a file adds; it is not part of the password
      const password = (await readAll(io.stdin)).replace(/\r?\n$/, '');
      if (password.length < 12) {
        io.stderr('hash-password: the password must have at least 12 characters\n');
        exitCode = 1;
        return;
      }
      io.stdout(`${await hashSecret(password)}\n`);
    });

  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
  return exitCode;
}
