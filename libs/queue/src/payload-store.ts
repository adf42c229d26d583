import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
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
 * A payload store in a directory: content-addressed files written to a temporary name, flushed to
 * disk, then renamed, so a reader never sees half a file and an acknowledged body survives a crash.
 */
export class DirectoryPayloadStore implements PayloadStore {
  constructor(private readonly directory: string) {}

  async put(body: Buffer): Promise<{ ref: string; sha256: string; size: number }> {
    const sha256 = createHash('sha256').update(body).digest('base64url');
    const ref = `${sha256}.bin`;
    await mkdir(this.directory, { recursive: true });

    const temporary = join(this.directory, `.${randomUUID()}.tmp`);
    const handle = await open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, join(this.directory, ref));
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
