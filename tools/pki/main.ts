import { runPkiCli } from './pki-cli.js';

process.exitCode = await runPkiCli(process.argv.slice(2), {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
});
