// decorators of the configuration schemas read design-time metadata while modules load
import 'reflect-metadata';

import { CommanderError } from 'commander';

import { buildAuthCli } from './cli/auth-cli.js';

const program = buildAuthCli(process.env, {
  out: (line) => process.stdout.write(line.endsWith('\n') ? line : `${line}\n`),
  err: (line) => process.stderr.write(line.endsWith('\n') ? line : `${line}\n`),
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // commander has already printed its message (or the help)
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
