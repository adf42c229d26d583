import { Command, CommanderError, Option } from 'commander';

import { DEV_PKI_ALGORITHMS, type DevPkiAlgorithm, generateDevPki } from './dev-pki.js';

/** Where the CLI writes: the terminal in `main.ts`, a buffer in tests. */
export interface CliOutput {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

interface PkiOptions {
  readonly out: string;
  readonly force: boolean;
  readonly algorithm: DevPkiAlgorithm;
}

/**
 * Runs `pki --out DIR [--force] [--algorithm ecdsa-p256|rsa-2048]` over `argv` (user arguments
 * only) and resolves to the exit code: 0 when the PKI was written, 1 otherwise.
 */
export async function runPkiCli(argv: readonly string[], output: CliOutput): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('pki')
    .description('Write a development PKI for Countersign: CAs, server and client certificates.')
    .requiredOption('--out <dir>', 'directory to write the PEM files and manifest.json into')
    .option('--force', 'overwrite files that already exist', false)
    .addOption(
      new Option('--algorithm <algorithm>', 'key algorithm of every certificate')
        .choices(DEV_PKI_ALGORITHMS)
        .default('ecdsa-p256'),
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => output.out(text.trimEnd()),
      writeErr: (text) => output.err(text.trimEnd()),
    })
    .action(async ({ out, force, algorithm }: PkiOptions) => {
      try {
        const manifest = await generateDevPki({ outDir: out, force, algorithm });
        const width = Math.max(...manifest.files.map((file) => file.path.length));
        output.out(`Wrote the ${algorithm} dev PKI to ${manifest.outDir}:`);
        for (const file of manifest.files) {
          output.out(`  ${file.path.padEnd(width)}  ${file.purpose}`);
        }
      } catch (error) {
        output.err(`pki: ${error instanceof Error ? error.message : String(error)}`);
        exitCode = 1;
      }
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    // commander has already printed its usage error (or the help text, which exits 0)
    return error instanceof CommanderError ? error.exitCode : 1;
  }
  return exitCode;
}
