import { runDeadLettersCli } from './dead-letters/dead-letters.cli.js';

process.exitCode = await runDeadLettersCli(process.argv.slice(2), {
  env: process.env,
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  outBytes: (bytes) => process.stdout.write(bytes),
});
