import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
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

describe('DirectoryPayloadStore durability', () => {
  let dir: string;
  let fileHandle: FileHandle;
  const body = Buffer.from('{"event":"envelope-completed","data":{}}');
  const ref = `${createHash('sha256').update(body).digest('base64url')}.bin`;

  /** An errno-style error as the file system raises it. */
  function failure(code: string): NodeJS.ErrnoException {
    return Object.assign(new Error(`${code}: simulated`), { code });
  }

  /** Calls `onSync` for each fsync, with whether its handle is a directory, before the fsync. */
  function watchSyncs(onSync: (isDirectory: boolean) => void | Promise<void>) {
    const original = fileHandle.sync;
    return jest.spyOn(fileHandle, 'sync').mockImplementation(async function (this: FileHandle) {
      await onSync((await this.stat()).isDirectory());
      return original.call(this);
    });
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-payload-'));
    // FileHandle is not exported: spies go on the prototype every handle shares
    const probe = await open(dir, 'r');
    fileHandle = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  it('flushes the file, then the directory once the file has its name, before put resolves', async () => {
    const syncs: { isDirectory: boolean; named: boolean }[] = [];
    watchSyncs((isDirectory) => {
      syncs.push({ isDirectory, named: existsSync(join(dir, ref)) });
    });

    await new DirectoryPayloadStore(dir).put(body);

    expect(syncs).toEqual([
      { isDirectory: false, named: false },
      { isDirectory: true, named: true },
    ]);
  });

  it('refuses to confirm a payload whose directory cannot be flushed', async () => {
    watchSyncs((isDirectory) => {
      if (isDirectory) throw failure('EIO');
    });

    await expect(new DirectoryPayloadStore(dir).put(body)).rejects.toMatchObject({ code: 'EIO' });
  });

  it('stores the payload on a file system that cannot flush a directory (EINVAL)', async () => {
    watchSyncs((isDirectory) => {
      if (isDirectory) throw failure('EINVAL');
    });

    const stored = await new DirectoryPayloadStore(dir).put(body);

    expect(stored.ref).toBe(ref);
    expect(await readdir(dir)).toEqual([ref]);
  });

  it('removes its temporary file when the write fails', async () => {
    jest.spyOn(fileHandle, 'writeFile').mockRejectedValueOnce(failure('ENOSPC'));

    await expect(new DirectoryPayloadStore(dir).put(body)).rejects.toMatchObject({
      code: 'ENOSPC',
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes its temporary file when the flush fails', async () => {
    watchSyncs(() => {
      throw failure('EIO');
    });

    await expect(new DirectoryPayloadStore(dir).put(body)).rejects.toMatchObject({ code: 'EIO' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes its temporary file when the rename fails', async () => {
    // a directory in the way of the payload's name makes the rename fail
    await mkdir(join(dir, ref, 'in-the-way'), { recursive: true });

    await expect(new DirectoryPayloadStore(dir).put(body)).rejects.toThrow();
    expect(await readdir(dir)).toEqual([ref]);
  });
});

describe('queue names', () => {
  it('puts each queue in its own Redis Cluster hash slot via the prefix', () => {
    expect(queuePrefix('countersign', 'deliveries')).toBe('countersign:{deliveries}');
    expect(consumerQueueName('audit-log')).toBe('consumer-audit-log');
  });
});
