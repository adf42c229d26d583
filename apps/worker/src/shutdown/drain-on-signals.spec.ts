import { EventEmitter } from 'node:events';
import { drainOnSignals } from './drain-on-signals.js';

function setUp(drainResult: () => Promise<void> = () => Promise.resolve()) {
  const source = new EventEmitter();
  const exits: number[] = [];
  let log = '';
  let drains = 0;
  let finishDrain: () => void = () => undefined;
  const drained = new Promise<void>((resolve) => (finishDrain = resolve));
  const remove = drainOnSignals({
    drain: async () => {
      drains += 1;
      await drained;
      return drainResult();
    },
    exit: (code) => exits.push(code),
    write: (text) => (log += text),
    source,
  });
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return {
    source,
    exits,
    remove,
    finishDrain,
    settle,
    log: () => log,
    drains: () => drains,
  };
}

describe('drainOnSignals', () => {
  it('drains on SIGTERM and exits 0 once the drain is over', async () => {
    const worker = setUp();

    worker.source.emit('SIGTERM', 'SIGTERM');
    await worker.settle();
    expect(worker.exits).toEqual([]);

    worker.finishDrain();
    await worker.settle();
    expect(worker.drains()).toBe(1);
    expect(worker.exits).toEqual([0]);
    expect(worker.log()).toBe('worker: SIGTERM received, draining\n');
  });

  it('ignores a second SIGTERM or a SIGINT during the drain, logging it, and still exits 0', async () => {
    const worker = setUp();

    worker.source.emit('SIGTERM', 'SIGTERM');
    // a handler must still be installed, or Node's default action would end the process at once
    expect(worker.source.listenerCount('SIGTERM')).toBe(1);
    expect(worker.source.listenerCount('SIGINT')).toBe(1);
    worker.source.emit('SIGTERM', 'SIGTERM');
    worker.source.emit('SIGINT', 'SIGINT');
    await worker.settle();
    expect(worker.exits).toEqual([]);

    worker.finishDrain();
    await worker.settle();
    expect(worker.drains()).toBe(1);
    expect(worker.exits).toEqual([0]);
    expect(worker.log().split('\n').filter(Boolean)).toEqual([
      'worker: SIGTERM received, draining',
      'worker: SIGTERM received while already draining; the drain goes on (SIGKILL stops at once)',
      'worker: SIGINT received while already draining; the drain goes on (SIGKILL stops at once)',
    ]);
  });

  it('exits 1 when the drain fails', async () => {
    const worker = setUp(() => Promise.reject(new Error('redis gone')));

    worker.source.emit('SIGINT', 'SIGINT');
    worker.finishDrain();
    await worker.settle();
    expect(worker.exits).toEqual([1]);
    expect(worker.log()).toContain('worker: shutdown failed: Error: redis gone');
  });

  it('removes its handlers when asked', () => {
    const worker = setUp();

    worker.remove();
    expect(worker.source.listenerCount('SIGTERM')).toBe(0);
    expect(worker.source.listenerCount('SIGINT')).toBe(0);
  });
});
