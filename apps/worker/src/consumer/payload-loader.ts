import { createHash } from 'node:crypto';
import type { PayloadRef, PayloadStore } from '@countersign/queue';

/** A body that cannot be read back exactly as the listener received it. */
export class PayloadUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadUnavailableError';
  }
}

/**
 * Reads the exact body bytes of a delivery, inline or from the payload store, and refuses them
 * when they do not match the SHA-256 (base64url) the listener recorded.
 */
export async function loadPayload(
  payload: PayloadRef,
  store: PayloadStore | undefined,
): Promise<Buffer> {
  if (payload.kind === 'inline') {
    const body = Buffer.from(payload.base64, 'base64');
    const digest = createHash('sha256').update(body).digest('base64url');
    if (digest !== payload.sha256 || body.length !== payload.size) {
      throw new PayloadUnavailableError('inline payload does not match its digest');
    }
    return body;
  }

  if (payload.kind === 'stored') {
    if (!store) {
      throw new PayloadUnavailableError('payload is in the payload store but none is configured');
    }
    const body = await store.get(payload.ref, payload.sha256);
    if (body.length !== payload.size) {
      throw new PayloadUnavailableError(`payload ${payload.ref} has the wrong size`);
    }
    return body;
  }

  throw new PayloadUnavailableError('payload reference of an unknown kind');
}
