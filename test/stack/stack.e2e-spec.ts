import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { redisOptionsFromUrl } from '@countersign/common';
import { Redis } from 'ioredis';

import {
  generateDeliveries,
  JSON_CONTENT_TYPE,
  type Delivery,
} from '../../tools/simulator/deliveries.js';
import { ConnectSimulator, type SimulatorOptions } from '../../tools/simulator/simulator.js';
import { loadSimulatorSettings } from '../../tools/simulator/simulator-settings.js';
import { CONNECT_MTLS_CLIENT_ID } from '../../tools/stack/dev-material.js';
import { startStack, type RunningStack } from '../../tools/stack/stack.js';

const run = promisify(execFile);
const FIXTURES = 'test/fixtures/connect';
const SIMULATOR_CLI = 'dist/tools/simulator/main.js';

/**
 * The simulator against the real stack (the built apps as child processes): both token endpoint
 * authentication methods, Expect: 100-continue, retries, and the CLI's exit codes.
 */
describe('the Connect simulator against the stack', () => {
  let dir: string;
  let stack: RunningStack;
  let settings: Omit<SimulatorOptions, 'onOutcome'>;
  const queuePrefix = `cs-test-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-stack-'));
    stack = await startStack({
      dir,
      runDir: join(dir, 'run'),
      queuePrefix,
      ports: 'ephemeral',
      logs: 'files',
      say: () => undefined,
    });
    settings = await loadSimulatorSettings(stack.config.files.simulator);
  }, 60_000);

  afterAll(async () => {
    const exits = await Promise.all(stack.apps.map((app) => app.stop()));
    await stack.stop();
    const redis = new Redis({ ...redisOptionsFromUrl(stack.redis.url), lazyConnect: true });
    await redis.connect();
    for (;;) {
      const [, keys] = await redis.scan('0', 'MATCH', `${queuePrefix}:*`, 'COUNT', 1000);
      if (keys.length === 0) break;
      await redis.unlink(...keys);
    }
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
    // every app ends on SIGTERM within the grace period: none had to be killed
    expect(exits.map((exit) => exit.forced)).toEqual([false, false, false]);
  }, 30_000);

  async function oneEvent(): Promise<Delivery> {
    const [delivery] = await generateDeliveries({
      fixturesDir: FIXTURES,
      count: 1,
      format: 'json',
    });
    return delivery;
  }

  it('delivers with tls_client_auth: client_id in the form, the certificate as the credential', async () => {
    const simulator = new ConnectSimulator({
      ...settings,
      auth: { method: 'tls_client_auth', clientId: CONNECT_MTLS_CLIENT_ID },
    });
    try {
      const outcome = await simulator.deliver(await oneEvent());
      expect(outcome).toMatchObject({ ok: true, status: 200, answer: 'enqueued', attempts: 1 });
    } finally {
      simulator.close();
    }
  });

  it('sends a large delivery with Expect: 100-continue and the listener takes it', async () => {
    const base = await oneEvent();
    const padded = base.body
      .toString('utf8')
      .replace(/^\{/, `{"padding":"${'x'.repeat(300 * 1024)}",`);
    const simulator = new ConnectSimulator({ ...settings, expectContinueFromBytes: 16 * 1024 });
    try {
      const outcome = await simulator.deliver({
        name: 'large',
        body: Buffer.from(padded),
        contentType: JSON_CONTENT_TYPE,
      });
      expect(outcome).toMatchObject({ ok: true, status: 200, answer: 'enqueued' });
    } finally {
      simulator.close();
    }
  });

  it('reuses one token from the real auth-server across deliveries', async () => {
    const simulator = new ConnectSimulator(settings);
    try {
      const outcomes = await simulator.run(
        await generateDeliveries({ fixturesDir: FIXTURES, count: 5, format: 'xml' }),
      );
      expect(outcomes.map((outcome) => outcome.answer)).toEqual(Array(5).fill('enqueued'));
      expect(simulator.tokenRequests).toBe(1);
    } finally {
      simulator.close();
    }
  });

  it('retries a refused delivery on its schedule, then reports the failure', async () => {
    // a profile the listener does not have: refused every time
    const simulator = new ConnectSimulator({
      ...settings,
      profile: 'no-such-profile',
      retryDelaysMs: [50, 50],
    });
    try {
      const outcome = await simulator.deliver(await oneEvent());
      expect(outcome).toMatchObject({ ok: false, status: 404, attempts: 3 });
    } finally {
      simulator.close();
    }
  });

  describe('the CLI (dist/)', () => {
    const cli = (args: string[]) =>
      run(process.execPath, [SIMULATOR_CLI, '--settings', stack.config.files.simulator, ...args]);

    it('exits 0 when every delivery got a 2xx and prints a summary', async () => {
      const { stdout } = await cli(['--count', '3', '--rate', '20']);
      expect(stdout).toMatch(/3 deliveries: 3 delivered, 0 failed; 1 token request\(s\)/);
    });

    it('exits 0 when every attack was refused', async () => {
      const { stdout } = await cli(['--count', '2', '--attack', 'tampered-body']);
      expect(stdout).toMatch(/2 attack deliveries \(tampered-body\): 2 refused, 0 not refused/);
      expect(stdout).toMatch(/HTTP 401 +hmac_mismatch/);
    });

    it('exits non-zero when a genuine delivery ultimately failed', async () => {
      const wrongSecret = join(dir, 'wrong-secret');
      await writeFile(wrongSecret, 'not-the-secret\n', { mode: 0o600 });
      const failure = cli([
        '--count',
        '1',
        '--client-secret-file',
        wrongSecret,
        '--retry-schedule',
        '10ms',
      ]);
      await expect(failure).rejects.toMatchObject({
        code: 1,
        stdout: expect.stringMatching(/FAILED .*token endpoint answered 401/),
      });
    });

    it('exits 2 with a one-line reason when its settings cannot be read', async () => {
      const failure = run(process.execPath, [SIMULATOR_CLI, '--settings', join(dir, 'none.json')]);
      await expect(failure).rejects.toMatchObject({
        code: 2,
        stderr: expect.stringMatching(/^simulate: .*none\.json/),
      });
    });
  });
});
