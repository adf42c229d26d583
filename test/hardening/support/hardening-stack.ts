import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSimulatorSettings } from '../../../tools/simulator/simulator-settings.js';
import type { SimulatorOptions } from '../../../tools/simulator/simulator.js';
import { startStack, type RunningStack } from '../../../tools/stack/stack.js';
import { ChildApp } from './child-processes.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from './hardening-harness.js';
import { startLedgerWorker } from './ledger.js';

const LISTENER_SCRIPT = join(process.cwd(), 'dist/apps/listener/src/main.js');

/**
 * The three apps from dist/ (tools/stack) on the shared Redis under a fresh prefix, with the
 * shipped worker replaced by the ledger worker, and the listener restartable after a SIGKILL.
 */
export class HardeningStack {
  private listenerChild?: ChildApp;
  readonly workers: ChildApp[] = [];

  private constructor(
    readonly stack: RunningStack,
    readonly prefix: string,
    readonly simulator: Omit<SimulatorOptions, 'onOutcome'>,
    readonly caPem: string,
    private readonly consumers: string,
  ) {}

  static async start(dir: string, consumers = 'ledger-a,ledger-b'): Promise<HardeningStack> {
    const prefix = uniquePrefix();
    const stack = await startStack({
      dir: join(dir, 'material'),
      runDir: join(dir, 'run'),
      redisUrl: REDIS_URL,
      queuePrefix: prefix,
      ports: 'ephemeral',
      logs: 'files',
      say: () => undefined,
    });
    try {
      await stack.apps.find((app) => app.name === 'worker')?.stop();
      const simulator = await loadSimulatorSettings(stack.config.files.simulator);
      const caPem = await readFile(stack.material.pki.caBundle, 'utf8');
      const running = new HardeningStack(stack, prefix, simulator, caPem, consumers);
      await running.startWorker();
      return running;
    } catch (error) {
      await stack.stop();
      throw error;
    }
  }

  /** The pid of the listener now serving (the stack's, or a restarted one). */
  get listenerPid(): number {
    const pid = this.listenerChild?.pid ?? this.stack.apps.find((a) => a.name === 'listener')?.pid;
    if (pid === undefined) throw new Error('no listener process');
    return pid;
  }

  async startWorker(): Promise<ChildApp> {
    const worker = await startLedgerWorker({
      prefix: this.prefix,
      redisUrl: REDIS_URL,
      payloadDir: this.stack.layout.payloadDir,
      consumers: this.consumers,
      env: { WORKER_LOG_LEVEL: 'info' },
    });
    this.workers.push(worker);
    return worker;
  }

  /** SIGKILLs the listener now serving. */
  async killListener(): Promise<void> {
    if (this.listenerChild) {
      await this.listenerChild.kill('SIGKILL');
      return;
    }
    const app = this.stack.apps.find((a) => a.name === 'listener');
    if (app?.pid !== undefined) process.kill(app.pid, 'SIGKILL');
    await app?.exited;
  }

  /** Starts the listener again with the stack's settings, plus `env` overrides. */
  async restartListener(env: Record<string, string> = {}): Promise<ChildApp> {
    const hmacEnv = Object.fromEntries(
      this.stack.material.hmacKeys.map((key, index) => [`CONNECT_HMAC_KEY_${index + 1}`, key]),
    );
    this.listenerChild = await ChildApp.start({
      name: 'listener',
      script: LISTENER_SCRIPT,
      env: { PATH: process.env.PATH, ...this.stack.config.env.listener, ...hmacEnv, ...env },
      readyUrl: `${this.stack.config.urls.listener}/health/ready`,
      ca: this.caPem,
    });
    return this.listenerChild;
  }

  /** Every line the child processes wrote: the stack's log files and the children started here. */
  async logLines(): Promise<string[]> {
    const lines: string[] = [];
    for (const name of ['auth-server', 'listener', 'worker']) {
      const text = await readFile(join(this.stack.logsDir, `${name}.log`), 'utf8').catch(() => '');
      lines.push(...text.split('\n'));
    }
    for (const child of [...this.workers, ...(this.listenerChild ? [this.listenerChild] : [])]) {
      lines.push(...child.lines);
    }
    return lines;
  }

  async stop(): Promise<void> {
    for (const worker of this.workers) await worker.stop(3000);
    await this.listenerChild?.stop(3000);
    await this.stack.stop();
    await deleteKeys(this.prefix);
  }
}
