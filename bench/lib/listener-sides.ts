import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Queue } from 'bullmq';

import { DELIVERIES_QUEUE, queuePrefix } from '@countersign/queue';

import { createBenchPki, type BenchPki, type KeyAlgorithm } from './bench-pki.js';
import { freePort, startServer, type ServerProcess } from './child-process.js';
import { benchHmacKey, DeliveryFactory } from './deliveries.js';
import { sendOnce, type BenchRequest, type ClientTls } from './load.js';
import { benchRoot, deleteBenchKeys } from './redis-keys.js';
import { BENCH_TOKEN, createTokenIssuer } from './token-issuer.js';

/** The profile name both sides serve at /connect/<profile>. */
export const BENCH_PROFILE = 'bench';

/** The environment variable holding the HMAC key in the listener's profile. */
const HMAC_KEY_ENV = 'BENCH_CONNECT_HMAC_KEY_1';

/** Which implementation serves the deliveries. */
export type SideName = 'countersign' | 'baseline';

/** Everything both sides of a listener benchmark share: certificates, token, HMAC key. */
export interface ListenerBench {
  readonly dir: string;
  readonly pki: BenchPki;
  readonly redisUrl: string;
  readonly jwksFile: string;
  readonly hmacKey: string;
  /** Bound to the Connect client certificate. */
  readonly token: string;
  /** Bound to the other client certificate: must be refused over the Connect certificate. */
  readonly foreignToken: string;
  readonly roots: string[];
  readonly deliveries: DeliveryFactory;
  readonly clientTls: ClientTls;
  /** A fresh, correctly signed delivery with the bound token. */
  request(): BenchRequest;
}

/** A side that is running and answering. */
export interface RunningSide {
  readonly name: SideName;
  readonly url: string;
  readonly root: string;
  readonly process: ServerProcess;
  readonly payloadDir: string;
}

/** Creates the PKI, token issuer and HMAC key for one run, in a fresh temporary directory. */
export async function prepareListenerBench(options: {
  algorithm: KeyAlgorithm;
  redisUrl: string;
}): Promise<ListenerBench> {
  const dir = await mkdtemp(join(tmpdir(), 'cs-bench-'));
  const pki = await createBenchPki(join(dir, 'pki'), options.algorithm);
  const jwksFile = join(dir, 'jwks.json');
  const issuer = await createTokenIssuer(jwksFile);
  const token = await issuer.mint({ thumbprint: pki.clientThumbprint });
  const foreignToken = await issuer.mint({ thumbprint: pki.otherClientThumbprint });
  const hmacKey = benchHmacKey();
  const deliveries = new DeliveryFactory(hmacKey);
  return {
    dir,
    pki,
    redisUrl: options.redisUrl,
    jwksFile,
    hmacKey,
    token,
    foreignToken,
    roots: [],
    deliveries,
    clientTls: { certFile: pki.clientCertFile, keyFile: pki.clientKeyFile, caFile: pki.caFile },
    request: () => {
      const next = deliveries.next();
      return {
        headers: {
          'content-type': 'application/json; charset=utf-8',
          authorization: `Bearer ${token}`,
          'x-docusign-signature-1': next.signature,
        },
        body: next.body,
      };
    },
  };
}

/** Removes the run's temporary files and every Redis key of its roots. */
export async function cleanupListenerBench(bench: ListenerBench): Promise<void> {
  for (const root of bench.roots) await deleteBenchKeys(bench.redisUrl, root);
  await rm(bench.dir, { recursive: true, force: true });
}

/** Settings a scenario may change on both sides alike. */
export interface SideOptions {
  readonly inlineMaxBytes?: number;
  readonly bodyLimitBytes?: number;
  readonly nodeArgs?: string[];
  readonly label?: string;
}

/** Starts the bare node:https baseline (dist/bench/baseline/bare-listener.js). */
export async function startBaseline(
  bench: ListenerBench,
  options: SideOptions = {},
): Promise<RunningSide> {
  const root = benchRoot();
  bench.roots.push(root);
  const port = await freePort();
  const payloadDir = join(bench.dir, `payloads-${root}`);
  await mkdir(payloadDir, { recursive: true });
  const config = {
    port,
    host: '127.0.0.1',
    certFile: bench.pki.serverCertFile,
    keyFile: bench.pki.serverKeyFile,
    caFile: bench.pki.caFile,
    profile: BENCH_PROFILE,
    pins: [bench.pki.clientThumbprint],
    jwksFile: bench.jwksFile,
    issuer: BENCH_TOKEN.issuer,
    audience: BENCH_TOKEN.audience,
    scope: BENCH_TOKEN.scope,
    hmacKeys: [bench.hmacKey],
    redisUrl: bench.redisUrl,
    queueRoot: root,
    inlineMaxBytes: options.inlineMaxBytes ?? 256 * 1024,
    bodyLimitBytes: options.bodyLimitBytes ?? 32 * 1024 * 1024,
    payloadDir,
  };
  const process = await startServer({
    name: options.label ?? 'baseline-listener',
    script: 'dist/bench/baseline/bare-listener.js',
    env: { BARE_LISTENER_CONFIG: JSON.stringify(config) },
    port,
    readyUrl: `https://127.0.0.1:${port}/`,
    readyStatuses: [404],
    nodeArgs: options.nodeArgs,
  });
  const url = `https://127.0.0.1:${port}/connect/${BENCH_PROFILE}`;
  return { name: 'baseline', url, root, process, payloadDir };
}

/**
 * Starts the real listener (dist/apps/listener/src/main.js) with a profile that requires the same
 * checks as the baseline: mTLS pinned to the Connect certificate, bound token, HMAC.
 */
export async function startCountersign(
  bench: ListenerBench,
  options: SideOptions = {},
): Promise<RunningSide> {
  const root = benchRoot();
  bench.roots.push(root);
  const port = await freePort();
  const payloadDir = join(bench.dir, `payloads-${root}`);
  await mkdir(payloadDir, { recursive: true });
  const profilesFile = join(bench.dir, `profiles-${root}.json`);
  const profiles = {
    profiles: {
      [BENCH_PROFILE]: {
        checks: ['mtls', 'oauth', 'bound-token', 'hmac'],
        certificate: { pins: [bench.pki.clientThumbprint] },
        token: {
          issuer: BENCH_TOKEN.issuer,
          audience: BENCH_TOKEN.audience,
          requiredScope: BENCH_TOKEN.scope,
          jwksFile: bench.jwksFile,
        },
        hmac: { keys: [{ id: 'bench-1', secretEnv: HMAC_KEY_ENV }] },
      },
    },
  };
  await writeFile(profilesFile, JSON.stringify(profiles, null, 2));
  const process = await startServer({
    name: options.label ?? 'countersign-listener',
    script: 'dist/apps/listener/src/main.js',
    env: {
      NODE_ENV: 'production',
      LISTENER_PORT: String(port),
      LISTENER_HOST: '127.0.0.1',
      LISTENER_MODE: 'tls',
      LISTENER_TLS_CERT_FILE: bench.pki.serverCertFile,
      LISTENER_TLS_KEY_FILE: bench.pki.serverKeyFile,
      LISTENER_CLIENT_CA_FILE: bench.pki.caFile,
      LISTENER_PROFILES_FILE: profilesFile,
      LISTENER_PAYLOAD_DIR: payloadDir,
      LISTENER_INLINE_PAYLOAD_MAX_BYTES: String(options.inlineMaxBytes ?? 256 * 1024),
      LISTENER_BODY_LIMIT_BYTES: String(options.bodyLimitBytes ?? 32 * 1024 * 1024),
      LISTENER_LOG_LEVEL: 'info',
      REDIS_URL: bench.redisUrl,
      QUEUE_PREFIX: root,
      [HMAC_KEY_ENV]: bench.hmacKey,
    },
    port,
    readyUrl: `https://127.0.0.1:${port}/health/ready`,
    nodeArgs: options.nodeArgs,
  });
  const url = `https://127.0.0.1:${port}/connect/${BENCH_PROFILE}`;
  return { name: 'countersign', url, root, process, payloadDir };
}

/** Jobs the side put on its deliveries queue (every state). */
export async function countDeliveries(bench: ListenerBench, side: RunningSide): Promise<number> {
  const queue = new Queue(DELIVERIES_QUEUE, {
    connection: { url: bench.redisUrl },
    prefix: queuePrefix(side.root, DELIVERIES_QUEUE),
  });
  try {
    const counts = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed');
    return Object.values(counts).reduce((sum, count) => sum + count, 0);
  } finally {
    await queue.close();
  }
}

/**
 * Before measuring, proves the side really runs the checks: a genuine delivery is accepted and
 * a tampered body, a missing signature, a token bound to another certificate and a missing
 * client certificate are refused. A side that accepted any of them would make the comparison
 * meaningless (a faster path that skips a check is a defect), so the benchmark stops.
 */
export async function proveChecks(bench: ListenerBench, side: RunningSide): Promise<void> {
  const tls = {
    cert: readFileSync(bench.pki.clientCertFile),
    key: readFileSync(bench.pki.clientKeyFile),
    ca: readFileSync(bench.pki.caFile),
  };
  const genuine = bench.request();
  const tampered = bench.request();
  const tamperedBody = Buffer.from(tampered.body);
  tamperedBody[tamperedBody.length - 3] = 0x20;
  const unsigned = bench.request();
  const unsignedHeaders = Object.fromEntries(
    Object.entries(unsigned.headers).filter(([name]) => name !== 'x-docusign-signature-1'),
  );
  const foreign = bench.request();
  const noCertificate = bench.request();

  const probes: { name: string; expect: 'accept' | 'refuse'; send: () => Promise<number> }[] = [
    {
      name: 'genuine delivery',
      expect: 'accept',
      send: async () => (await sendOnce(side.url, tls, genuine)).status,
    },
    {
      name: 'tampered body',
      expect: 'refuse',
      send: async () =>
        (await sendOnce(side.url, tls, { headers: tampered.headers, body: tamperedBody })).status,
    },
    {
      name: 'missing signature',
      expect: 'refuse',
      send: async () =>
        (await sendOnce(side.url, tls, { headers: unsignedHeaders, body: unsigned.body })).status,
    },
    {
      name: 'token bound to another certificate',
      expect: 'refuse',
      send: async () =>
        (
          await sendOnce(side.url, tls, {
            headers: { ...foreign.headers, authorization: `Bearer ${bench.foreignToken}` },
            body: foreign.body,
          })
        ).status,
    },
    {
      name: 'no client certificate',
      expect: 'refuse',
      send: async () =>
        sendOnce(side.url, { ca: tls.ca }, noCertificate).then(
          (answer) => answer.status,
          () => 0,
        ),
    },
  ];
  for (const probe of probes) {
    const status = await probe.send();
    const accepted = status >= 200 && status < 300;
    if (accepted !== (probe.expect === 'accept')) {
      throw new Error(
        `${side.name}: ${probe.name} answered ${status}, expected it to be ${probe.expect}ed`,
      );
    }
  }
}
