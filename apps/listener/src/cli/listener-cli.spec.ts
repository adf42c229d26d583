import { Readable } from 'node:stream';
import { verifySecret } from '@countersign/security';
import { runListenerCli } from './listener-cli.js';

async function run(args: string[], input: string) {
  let stdout = '';
  let stderr = '';
  const code = await runListenerCli(['node', 'cli.js', ...args], {
    stdin: Readable.from([Buffer.from(input)]),
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

describe('listener CLI', () => {
  it('prints a scrypt hash of the password read from stdin, without its trailing newline', async () => {
    const { code, stdout } = await run(['hash-password'], 'a long enough password\n');
    expect(code).toBe(0);
    const hash = stdout.trim();
    expect(hash).toMatch(/^scrypt\$/);
    expect(await verifySecret('a long enough password', hash)).toBe(true);
    expect(await verifySecret('a long enough password\n', hash)).toBe(false);
  });

  it('refuses a short password and never echoes it', async () => {
    const { code, stdout, stderr } = await run(['hash-password'], 'short\n');
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).not.toContain('short\n');
  });

  it('exits non-zero on an unknown command', async () => {
    expect((await run(['no-such-command'], '')).code).not.toBe(0);
  });
});
