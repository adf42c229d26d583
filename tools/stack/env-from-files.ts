import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Container entry: `node env-from-files.js <app main.js>` with
 * `ENV_FROM_FILES=NAME=/path,NAME2=/path2` sets each NAME to the file's contents (one trailing
 * newline dropped), then runs the app. Secrets stay in mounted files instead of the compose file.
 * A listed file that cannot be read stops start-up, naming the variable.
 */
function loadSecrets(list: string): string[] {
  const problems: string[] = [];
  for (const entry of list
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const at = entry.indexOf('=');
    const name = entry.slice(0, at);
    const path = entry.slice(at + 1);
    if (at <= 0 || !/^[A-Z_][A-Z0-9_]*$/.test(name) || path === '') {
      problems.push(`ENV_FROM_FILES: "${entry}" is not NAME=/path`);
      continue;
    }
    try {
      process.env[name] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      problems.push(`${name}: cannot read ${path} (${(error as NodeJS.ErrnoException).code})`);
    }
  }
  return problems;
}

const [script] = process.argv.slice(2);
if (!script) {
  process.stderr.write('usage: node env-from-files.js <script.js>\n');
  process.exit(2);
}
const problems = loadSecrets(process.env.ENV_FROM_FILES ?? '');
if (problems.length > 0) {
  process.stderr.write(`env-from-files:\n  - ${problems.join('\n  - ')}\n`);
  process.exit(1);
}
delete process.env.ENV_FROM_FILES;
await import(pathToFileURL(resolve(script)).href);
