import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';

/** The shipped example; the test runs nginx on these exact directives. */
export const EXAMPLE_CONFIG = resolve(
  import.meta.dirname,
  '../../../examples/nginx/countersign-listener.conf',
);

const NGINX_CANDIDATES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'];

/** Where nginx is installed; fails with how to install it rather than letting the test skip. */
export function findNginx(): string {
  const candidates = process.env.NGINX_BIN ? [process.env.NGINX_BIN] : NGINX_CANDIDATES;
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next location
    }
  }
  throw new Error(
    `nginx is required by the proxy end-to-end test and was not found (looked at ${candidates.join(
      ', ',
    )}). Install it (Debian/Ubuntu: apt-get install nginx-light) or set NGINX_BIN.`,
  );
}

/** The deployment-specific values the test puts into the example. */
export interface SiteSettings {
  readonly listenPort: number;
  readonly upstreamPort: number;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCaFile: string;
}

function replaceOnce(text: string, pattern: RegExp, replacement: string): string {
  const matches = text.match(new RegExp(pattern.source, 'gm'));
  if (matches?.length !== 1) {
    throw new Error(`the nginx example must contain ${pattern.source} exactly once`);
  }
  return text.replace(new RegExp(pattern.source, 'm'), replacement);
}

/**
 * The example with its addresses and file paths swapped for the test's; every other directive is
 * kept byte for byte.
 */
export function siteConfigFromExample(example: string, settings: SiteSettings): string {
  let site = example;
  site = replaceOnce(
    site,
    /^(\s*)server 127\.0\.0\.1:9080;$/,
    `$1server 127.0.0.1:${settings.upstreamPort};`,
  );
  site = replaceOnce(
    site,
    /^(\s*)listen 443 ssl;$/,
    `$1listen 127.0.0.1:${settings.listenPort} ssl;`,
  );
  site = replaceOnce(
    site,
    /^(\s*)ssl_certificate \S+;$/,
    `$1ssl_certificate ${settings.serverCertFile};`,
  );
  site = replaceOnce(
    site,
    /^(\s*)ssl_certificate_key \S+;$/,
    `$1ssl_certificate_key ${settings.serverKeyFile};`,
  );
  site = replaceOnce(
    site,
    /^(\s*)ssl_client_certificate \S+;$/,
    `$1ssl_client_certificate ${settings.clientCaFile};`,
  );
  return site;
}

/** The process-level frame around the site: everything under `dir`, nothing system-wide. */
export function mainConfig(dir: string, siteFile: string): string {
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} info;

events {
    worker_connections 64;
}

http {
    access_log ${join(dir, 'access.log')};
    client_body_temp_path ${join(dir, 'client_body')};
    proxy_temp_path ${join(dir, 'proxy')};
    fastcgi_temp_path ${join(dir, 'fastcgi')};
    uwsgi_temp_path ${join(dir, 'uwsgi')};
    scgi_temp_path ${join(dir, 'scgi')};

    include ${siteFile};
}
`;
}

/** A running nginx started for one test file. */
export interface RunningNginx {
  readonly port: number;
  readonly dir: string;
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess, output: () => string) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`nginx exited with code ${child.exitCode}:\n${output()}`);
    }
    const open = await new Promise<boolean>((done) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        done(true);
      });
      socket.on('error', () => done(false));
    });
    if (open) return;
    await new Promise((wait) => setTimeout(wait, 50));
  }
  throw new Error(`nginx did not listen on ${port} within 10 s:\n${output()}`);
}

/** Writes the configuration into `dir`, checks it with `nginx -t`, starts nginx in foreground. */
export async function startNginx(dir: string, settings: SiteSettings): Promise<RunningNginx> {
  const nginx = findNginx();
  await mkdir(dir, { recursive: true });
  const siteFile = join(dir, 'countersign-listener.conf');
  const confFile = join(dir, 'nginx.conf');
  await writeFile(
    siteFile,
    siteConfigFromExample(await readFile(EXAMPLE_CONFIG, 'utf8'), settings),
  );
  await writeFile(confFile, mainConfig(dir, siteFile));

  const args = ['-p', dir, '-e', join(dir, 'error.log'), '-c', confFile];
  const check = spawn(nginx, [...args, '-t'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let checkOutput = '';
  check.stdout.on('data', (chunk: Buffer) => (checkOutput += chunk.toString()));
  check.stderr.on('data', (chunk: Buffer) => (checkOutput += chunk.toString()));
  const checkCode = await new Promise<number | null>((done) => check.on('exit', done));
  if (checkCode !== 0) {
    throw new Error(`nginx -t refused the generated configuration:\n${checkOutput}`);
  }

  const child = spawn(nginx, [...args, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  await waitForPort(settings.listenPort, child, () => output);

  return {
    port: settings.listenPort,
    dir,
    errorLog: () => readFile(join(dir, 'error.log'), 'utf8'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
