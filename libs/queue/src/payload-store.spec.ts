import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryPayloadStore, PayloadStoreError } from './payload-store.js';
import { queuePrefix, consumerQueueName } from './queue-names.js';

describe('DirectoryPayloadStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-payload-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('returns the exact bytes it stored', async () => {
    const store = new DirectoryPayloadStore(dir);
    const body = Buffer.from('{"event":"envelope-completed"}\r\n', 'utf8');
    const { ref, sha256, size } = await store.put(body);
    expect(size).toBe(body.length);
    expect((await store.get(ref, sha256)).equals(body)).toBe(true);
    expect(await readdir(dir)).toEqual([ref]);
  });

  it('refuses a payload altered after it was stored', async () => {
    const store = new DirectoryPayloadStore(dir);
    const { ref, sha256 } = await store.put(Buffer.from('original'));
    await writeFile(join(dir, ref), 'tampered');
    await expect(store.get(ref, sha256)).rejects.toMatchObject({ code: 'payload_digest_mismatch' });
  });

  it('refuses a reference that could escape the directory', async () => {
    const store = new DirectoryPayloadStore(dir);
    await expect(store.get('../etc/passwd', 'x')).rejects.toBeInstanceOf(PayloadStoreError);
  });

  it('reports a missing payload', async () => {
    const store = new DirectoryPayloadStore(dir);
    const ref = `${'A'.repeat(43)}.bin`;
    await expect(store.get(ref, 'A'.repeat(43))).rejects.toMatchObject({ code: 'payload_missing' });
  });
});

describe('queue names', () => {
  it('puts each queue in its own Redis Cluster hash slot via the prefix', () => {
    expect(queuePrefix('countersign', 'deliveries')).toBe('countersign:{deliveries}');
    expect(consumerQueueName('audit-log')).toBe('consumer-audit-log');
  });
});
