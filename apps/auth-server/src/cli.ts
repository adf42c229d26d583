// decorators of the configuration schemas read design-time metadata while modules load
import 'reflect-metadata';

import { runAuthCli } from './cli/auth-cli.js';

process.exitCode = await runAuthCli(process.argv, process.env, {
  out: (line) => process.stdout.write(line.endsWith('\n') ? line : `${line}\n`),
  err: (line) => process.stderr.write(line.endsWith('\n') ? line : `${line}\n`),
});
