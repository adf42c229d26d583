import { runSimulatorCli } from './cli.js';

process.exitCode = await runSimulatorCli(process.argv, {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  env: process.env,
});
