import 'reflect-metadata';
import { runListenerCli } from './cli/listener-cli.js';

process.exitCode = await runListenerCli(process.argv, {
  stdin: process.stdin,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
