import { defaultQueuePrefix } from './stack.js';

describe('the stack default queue prefix', () => {
  it('is stable for one material directory and differs between two', () => {
    expect(defaultQueuePrefix('/work/a/.countersign')).toBe(
      defaultQueuePrefix('/work/a/.countersign'),
    );
    expect(defaultQueuePrefix('/work/a/.countersign')).not.toBe(
      defaultQueuePrefix('/tmp/b/.countersign'),
    );
  });

  it('is a key root every app accepts as QUEUE_PREFIX', () => {
    expect(defaultQueuePrefix('/work/a/.countersign')).toMatch(/^countersign-[0-9a-f]{8}$/);
  });
});
