/**
 * Scenario 6: the auth-server's token endpoint, tokens per second with `tls_client_auth` and with
 * `client_secret_basic`, against a bare node:https token endpoint doing the same work (mTLS, SAN
 * match or scrypt, ES256 signing of a bound RFC 9068 token). The scrypt hash dominates
 * `client_secret_basic`; the report states its cost per request.
 */
import 'reflect-metadata';

import { randomBytes, scrypt } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';

import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';

import { hashSecret } from '@countersign/security';

import { createBenchPki, type BenchPki } from './lib/bench-pki.js';
import { freePort, startServer, type ServerProcess } from './lib/child-process.js';
import { isMain, profileArgs, runMain, scenarioProgram, type CommonOptions } from './lib/cli.js';
import { runKeptAlive, sendOnce, type BenchRequest, type LoadResult } from './lib/load.js';
import { benchRoot, deleteBenchKeys } from './lib/redis-keys.js';
import {
  compare,
  describeLoad,
  progress,
  reportPasses,
  writeReport,
  type ScenarioReport,
} from './lib/report.js';
import { BENCH_TOKEN } from './lib/token-issuer.js';

export interface AuthServerOptions extends CommonOptions {
  readonly mtlsConnections: number;
  readonly secretConnections: number;
}

const MTLS_CLIENT = 'bench-mtls';
const SECRET_CLIENT = 'bench-secret';

interface Sides {
  readonly mtls: LoadResult;
  readonly secret: LoadResult;
  /** Server CPU milliseconds per tls_client_auth token. */
  readonly mtlsCpuMsPerToken: number;
}

function tokenRequests(secret: string): { mtls: BenchRequest; secret: BenchRequest } {
  const form = 'application/x-www-form-urlencoded';
  return {
    mtls: {
      headers: { 'content-type': form },
      body: Buffer.from(`grant_type=client_credentials&client_id=${MTLS_CLIENT}`),
    },
    secret: {
      headers: {
        'content-type': form,
        authorization: `Basic ${Buffer.from(`${SECRET_CLIENT}:${secret}`).toString('base64')}`,
      },
      body: Buffer.from('grant_type=client_credentials'),
    },
  };
}

/** Both clients get a bound token; a wrong secret is refused. Otherwise the rates mean nothing. */
async function proveTokenEndpoint(url: string, pki: BenchPki, secret: string): Promise<void> {
  const tls = {
    cert: readFileSync(pki.clientCertFile),
    key: readFileSync(pki.clientKeyFile),
    ca: readFileSync(pki.caFile),
  };
  const requests = tokenRequests(secret);
  for (const [name, request] of Object.entries(requests)) {
    const answer = await sendOnce(url, tls, request);
    const body = JSON.parse(answer.body) as { access_token?: string };
    const payload = body.access_token?.split('.')[1];
    const claims = payload
      ? (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
          cnf?: Record<string, string>;
        })
      : undefined;
    if (answer.status !== 200 || claims?.cnf?.['x5t#S256'] !== pki.clientThumbprint) {
      throw new Error(`${url}: ${name} token request answered ${answer.status} ${answer.body}`);
    }
  }
  const wrong = tokenRequests(`${secret}x`).secret;
  const refused = await sendOnce(url, tls, wrong);
  if (refused.status < 400) throw new Error(`${url}: a wrong client secret got a token`);
}

async function measure(
  server: ServerProcess,
  url: string,
  pki: BenchPki,
  secret: string,
  options: AuthServerOptions,
): Promise<Sides> {
  try {
    await proveTokenEndpoint(url, pki, secret);
    const tls = { certFile: pki.clientCertFile, keyFile: pki.clientKeyFile, caFile: pki.caFile };
    const requests = tokenRequests(secret);
    await runKeptAlive({
      url,
      tls,
      connections: options.mtlsConnections,
      seconds: 1,
      makeRequest: () => requests.mtls,
    });
    const cpuBefore = server.cpuSeconds();
    const mtls = await runKeptAlive({
      url,
      tls,
      connections: options.mtlsConnections,
      seconds: options.seconds,
      makeRequest: () => requests.mtls,
    });
    const mtlsCpuMsPerToken = ((server.cpuSeconds() - cpuBefore) * 1000) / Math.max(mtls.ok, 1);
    progress(
      `${server.name} tls_client_auth: ${describeLoad(mtls)} cpu=${mtlsCpuMsPerToken.toFixed(3)}ms/token`,
    );
    const secretLoad = await runKeptAlive({
      url,
      tls,
      connections: options.secretConnections,
      seconds: options.seconds,
      makeRequest: () => requests.secret,
    });
    progress(`${server.name} client_secret_basic: ${describeLoad(secretLoad)}`);
    return { mtls, secret: secretLoad, mtlsCpuMsPerToken };
  } finally {
    await server.stop();
  }
}

/** Milliseconds of one scrypt with the auth-server's parameters, on this machine. */
async function scryptMs(): Promise<number> {
  const runs = 10;
  const started = performance.now();
  for (let i = 0; i < runs; i += 1) {
    await new Promise<Buffer>((resolve, reject) =>
      scrypt(
        'secret',
        randomBytes(16),
        32,
        { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 },
        (e, k) => (e ? reject(e) : resolve(k)),
      ),
    );
  }
  return (performance.now() - started) / runs;
}

/** Runs scenario 6 and writes bench/results/6-auth-server.json. */
export async function runAuthServer(options: AuthServerOptions): Promise<ScenarioReport> {
  const dir = await mkdtemp(join(tmpdir(), 'cs-bench-auth-'));
  const root = benchRoot();
  try {
    const pki = await createBenchPki(join(dir, 'pki'), 'ecdsa-p256');
    const secret = randomBytes(24).toString('base64url');
    const secretHash = await hashSecret(secret);
    const clientsFile = join(dir, 'clients.json');
    const common = {
      scope: BENCH_TOKEN.scope,
      audience: BENCH_TOKEN.audience,
      grant_types: ['client_credentials'],
      tls_client_certificate_bound_access_tokens: true,
    };
    await writeFile(
      clientsFile,
      JSON.stringify({
        clients: [
          {
            client_id: MTLS_CLIENT,
            token_endpoint_auth_method: 'tls_client_auth',
            tls_client_auth_san_dns: 'connect.bench.test',
            ...common,
          },
          {
            client_id: SECRET_CLIENT,
            token_endpoint_auth_method: 'client_secret_basic',
            client_secret_hash: secretHash,
            ...common,
          },
        ],
      }),
    );

    const basePort = await freePort();
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = await calculateJwkThumbprint(await exportJWK(publicKey));
    const baselineServer = await startServer({
      name: 'baseline-token-endpoint',
      script: 'dist/bench/baseline/bare-token-endpoint.js',
      env: {
        BARE_TOKEN_CONFIG: JSON.stringify({
          port: basePort,
          certFile: pki.serverCertFile,
          keyFile: pki.serverKeyFile,
          caFile: pki.caFile,
          issuer: `https://localhost:${basePort}`,
          audience: BENCH_TOKEN.audience,
          scope: BENCH_TOKEN.scope,
          mtlsClient: { clientId: MTLS_CLIENT, sanDns: 'connect.bench.test' },
          secretClient: { clientId: SECRET_CLIENT, secretHash },
          signingJwk: { ...(await exportJWK(privateKey)), kid },
        }),
      },
      port: basePort,
      readyLine: /"listening"/,
      nodeArgs: profileArgs(options.cpuProf, '6-baseline'),
    });
    const baseline = await measure(
      baselineServer,
      `https://127.0.0.1:${basePort}/oauth2/token`,
      pki,
      secret,
      options,
    );

    const authPort = await freePort();
    const keysDir = join(dir, 'keys');
    await mkdir(keysDir, { recursive: true, mode: 0o700 });
    const authServer = await startServer({
      name: 'countersign-auth-server',
      script: 'dist/apps/auth-server/src/main.js',
      env: {
        NODE_ENV: 'production',
        AUTH_PORT: String(authPort),
        AUTH_HOST: '127.0.0.1',
        AUTH_ISSUER: `https://localhost:${authPort}`,
        AUTH_TLS_CERT_FILE: pki.serverCertFile,
        AUTH_TLS_KEY_FILE: pki.serverKeyFile,
        AUTH_CLIENT_CA_FILE: pki.caFile,
        AUTH_CLIENTS_FILE: clientsFile,
        AUTH_KEYS_DIR: keysDir,
        AUTH_LOG_LEVEL: 'info',
        REDIS_URL: options.redisUrl,
        QUEUE_PREFIX: root,
      },
      port: authPort,
      readyUrl: `https://127.0.0.1:${authPort}/health/ready`,
      nodeArgs: profileArgs(options.cpuProf, '6-countersign'),
    });
    const countersign = await measure(
      authServer,
      `https://127.0.0.1:${authPort}/oauth2/token`,
      pki,
      secret,
      options,
    );

    const hashMs = await scryptMs();
    const report: ScenarioReport = {
      scenario: '6-auth-server',
      title: 'token endpoint: tls_client_auth and client_secret_basic',
      command: `node dist/bench/6-auth-server.js --seconds ${options.seconds} --mtls-connections ${options.mtlsConnections} --secret-connections ${options.secretConnections}`,
      settings: {
        seconds: options.seconds,
        mtlsConnections: options.mtlsConnections,
        secretConnections: options.secretConnections,
        signing: 'ES256',
        scrypt: 'N=2^15 r=8 p=1 (32 MiB per hash)',
      },
      comparisons: [
        compare(
          'tls_client_auth tokens per second',
          '/s',
          countersign.mtls.rate,
          baseline.mtls.rate,
        ),
        compare(
          'tls_client_auth server CPU per token',
          'ms',
          countersign.mtlsCpuMsPerToken,
          baseline.mtlsCpuMsPerToken,
        ),
        compare(
          'client_secret_basic tokens per second',
          '/s',
          countersign.secret.rate,
          baseline.secret.rate,
        ),
        compare(
          'tls_client_auth p99 latency',
          'ms',
          countersign.mtls.latency.p99,
          baseline.mtls.latency.p99,
        ),
      ],
      checks: [],
      sides: { baseline, countersign, scryptMsPerHash: hashMs },
      notes: [
        `one scrypt (N=2^15, r=8, p=1) takes ${hashMs.toFixed(1)} ms here and runs on libuv's thread pool; ` +
          'client_secret_basic is bounded by it, which is acceptable: Connect asks for a token once per ' +
          'expiry (300 s) and reuses it, and the same cost is what makes a stolen clients file slow to brute-force',
      ],
    };
    await writeReport(report);
    return report;
  } finally {
    await deleteBenchKeys(options.redisUrl, root);
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const program = scenarioProgram('6-auth-server', 'token endpoint throughput', 5)
    .option('--mtls-connections <n>', 'connections for tls_client_auth', Number, 10)
    .option('--secret-connections <n>', 'connections for client_secret_basic', Number, 4)
    .parse();
  const options = program.opts<AuthServerOptions>();
  runMain(async () => {
    const report = await runAuthServer(options);
    return reportPasses(report) || !options.strict;
  });
}
