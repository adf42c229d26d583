import type { IncomingMessage, ServerResponse } from 'node:http';
import { DeliveryRejection } from '../rejection/delivery-rejection.js';

const EXPECTS_CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;

/**
 * Reads the exact body bytes, up to `limit`. The `100 Continue` interim answer is sent only
 * now, after the header checks passed, so a refused sender never uploads its body.
 */
export function readRawBody(
  request: IncomingMessage,
  response: ServerResponse,
  limit: number,
): Promise<Buffer> {
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(new DeliveryRejection('body_too_large', `declared ${declared} bytes`));
  }
  // the same loose match Node uses to emit `checkContinue`, so a client waiting for the interim
  // answer always gets it (`Expect: 100-continue, x-other` included)
  if (EXPECTS_CONTINUE.test(request.headers.expect ?? '')) {
    response.writeContinue();
  }

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('close', onClose);
      outcome();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.pause();
        finish(() => reject(new DeliveryRejection('body_too_large', `over ${limit} bytes`)));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish(() => resolve(Buffer.concat(chunks, size)));
    const onError = () =>
      finish(() => reject(new DeliveryRejection('body_incomplete', 'request stream failed')));
    const onClose = () =>
      finish(() => reject(new DeliveryRejection('body_incomplete', 'connection closed early')));

    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('close', onClose);
  });
}
