import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** Where bodies over the inline threshold are kept, shared by the listener and the worker. */
export interface PayloadStore {
  /** Stores the bytes durably and returns a reference and their SHA-256 (base64url). */
  put(body: Buffer): Promise<{ ref: string; sha256: string; size: number }>;
  /** Reads the bytes back, refusing them when they no longer match their digest. */
  get(ref: string, sha256: string): Promise<Buffer>;
}

const REF_PATTERN = /^[A-Za-z0-9_-]{43}\.bin$/;

/** Error raised when a stored payload is missing, renamed, or altered. */
export class PayloadStoreError extends Error {
  constructor(
    readonly code: 'payload_ref_invalid' | 'payload_missing' | 'payload_digest_mismatch',
    message: string,
  ) {
    super(message);
    this.name = 'PayloadStoreError';
  }
}

/**
 * Whether fsync of a directory failed only because the platform cannot do it: Windows refuses to
 * open or flush a directory, and a few file systems answer EINVAL or ENOTSUP to a directory fsync.
 */
function cannotSyncDirectory(error: unknown, step: 'open' | 'sync'): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (process.platform === 'win32') {
    return code === 'EISDIR' || code === 'EPERM' || code === 'EACCES';
  }
  return step === 'sync' && (code === 'EINVAL' || code === 'ENOTSUP');
}

/** Flushes a directory's entries (a rename into it) to disk. */
async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(directory, 'r');
  } catch (error) {
    if (cannotSyncDirectory(error, 'open')) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!cannotSyncDirectory(error, 'sync')) throw error;
  } finally {
    await handle.close();
  }
}

/**
 * A payload store in a directory: content-addressed files written to a temporary name, flushed to
 * disk, renamed, and the directory flushed too, so a reader never sees half a file and an
 * acknowledged body survives a crash under its name.
 */
export class DirectoryPayloadStore implements PayloadStore {
  constructor(private readonly directory: string) {}

  async put(body: Buffer): Promise<{ ref: string; sha256: string; size: number }> {
    const sha256 = createHash('sha256').update(body).digest('base64url');
    const ref = `${sha256}.bin`;
    await mkdir(this.directory, { recursive: true });

    const temporary = join(this.directory, `.${randomUUID()}.tmp`);
    try {
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, join(this.directory, ref));
    } catch (error) {
      // a full disk or a failed flush must not leave partial files behind
      await rm(temporary, { force: true }).catch(() => undefined);
      throw error;
    }
    // the rename is durable only once the directory's entry is: before the caller enqueues a job
    await syncDirectory(this.directory);
    return { ref, sha256, size: body.length };
  }

  async get(ref: string, sha256: string): Promise<Buffer> {
    if (!REF_PATTERN.test(ref)) {
      throw new PayloadStoreError('payload_ref_invalid', 'payload reference is not a store name');
    }

    let body: Buffer;
    try {
      body = await readFile(join(this.directory, ref));
    } catch {
      throw new PayloadStoreError('payload_missing', `payload ${ref} is not in the store`);
    }

    if (createHash('sha256').update(body).digest('base64url') !== sha256) {
      throw new PayloadStoreError(
        'payload_digest_mismatch',
        `payload ${ref} does not match its digest`,
      );
    }
    return body;
  }
}
