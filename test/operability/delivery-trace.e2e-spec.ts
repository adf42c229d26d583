import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDemo, type DemoReport } from '../../tools/stack/demo-runner.js';

interface LogLine {
  readonly level: number;
  readonly time: number;
  readonly name: string;
  readonly msg: string;
  readonly context?: string;
  readonly deliveryId?: string;
  readonly consumer?: string;
  readonly consumers?: string[];
  readonly jobId?: string;
  readonly reason?: string;
}

// the worker's own notices on stderr at a signal, outside the logger
const PROCESS_NOTICE = /^worker: /;

/**
 * The demo's full chain (built apps as child processes, real HTTPS and Redis) read back from the
 * apps' log files: the listener's delivery id is on the dispatcher's line and on every consumer
 * line about that delivery, and no secret of the run reaches any log. `npm test` builds dist/.
 */
describe('one delivery id from the listener through the dispatcher to every consumer', () => {
  let dir: string;
  let report: DemoReport;
  const logs: Record<'listener' | 'worker' | 'auth-server', LogLine[]> = {
    listener: [],
    worker: [],
    'auth-server': [],
  };
  const raw: Record<string, string> = {};

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-trace-'));
    report = await runDemo({
      dir,
      runDir: join(dir, 'run'),
      say: () => undefined,
      consumeTimeoutMs: 20_000,
    });
    for (const app of Object.keys(logs) as (keyof typeof logs)[]) {
      raw[app] = await readFile(join(dir, 'run', 'logs', `${app}.log`), 'utf8');
      const lines = raw[app].split('\n').filter((line) => line !== '');
      logs[app] = lines
        .filter((line) => !PROCESS_NOTICE.test(line))
        .map((line) => JSON.parse(line) as LogLine);
    }
  }, 90_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('ran the demo with every genuine delivery consumed', () => {
    expect(report.ok).toBe(true);
  });

  it('logs every line of every app as pino JSON naming the app', () => {
    for (const [app, lines] of Object.entries(logs)) {
      expect(lines.length).toBeGreaterThan(5);
      for (const line of lines) {
        expect({ app, name: line.name }).toEqual({ app, name: app });
        expect(typeof line.level).toBe('number');
        expect(typeof line.time).toBe('number');
        expect(typeof line.msg).toBe('string');
      }
    }
  });

  it('carries each enqueued delivery id to the dispatcher and to each consumer it dispatched to', () => {
    const enqueued = logs.listener.filter((line) => line.msg === 'delivery enqueued');
    expect(enqueued.length).toBeGreaterThanOrEqual(10);

    for (const { deliveryId } of enqueued) {
      expect(deliveryId).toMatch(/^[0-9a-f-]{36}$/);
      const about = logs.worker.filter((line) => line.deliveryId === deliveryId);
      const dispatched = about.filter((line) => line.msg === 'delivery dispatched');
      expect(dispatched).toHaveLength(1);
      const completed = about
        .filter((line) => line.msg === 'consumer job completed')
        .map((line) => line.consumer)
        .sort();
      expect({ deliveryId, completed }).toEqual({
        deliveryId,
        completed: [...(dispatched[0].consumers ?? [])].sort(),
      });
    }
  });

  it('puts a delivery id the listener logged on every worker line about a job or from a consumer', () => {
    const known = new Set(logs.listener.map((line) => line.deliveryId).filter(Boolean));
    const aboutJobs = logs.worker.filter(
      (line) => line.jobId !== undefined || /Consumer$/.test(line.context ?? ''),
    );
    expect(aboutJobs.length).toBeGreaterThan(20);
    for (const line of aboutJobs) {
      expect({ msg: line.msg, known: known.has(line.deliveryId) }).toEqual({
        msg: line.msg,
        known: true,
      });
    }
  });

  it('logs each refused delivery at warn with its delivery id and reason code', () => {
    const refused = logs.listener.filter((line) => line.msg === 'delivery rejected');
    expect(refused.length).toBeGreaterThanOrEqual(5);
    for (const line of refused) {
      expect(line.level).toBe(40);
      expect(line.deliveryId).toMatch(/^[0-9a-f-]{36}$/);
      expect(line.reason).toMatch(/^[a-z_]+$/);
    }
  });

  it('keeps the client secret, the HMAC keys and every access token out of all logs', async () => {
    const secretsDir = join(dir, 'secrets');
    const secrets = await Promise.all(
      (await readdir(secretsDir)).map(async (file) =>
        (await readFile(join(secretsDir, file), 'utf8')).trim(),
      ),
    );
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    for (const [app, text] of Object.entries(raw)) {
      for (const secret of secrets) {
        expect({ app, leaked: text.includes(secret) }).toEqual({ app, leaked: false });
      }
      expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./);
    }
  });
});
