import type { TLSSocket } from 'node:tls';

import type { Request } from 'express';

import { FormParameters } from './form-parameters.js';
import type { ClientCall } from './client-authenticator.js';
import { OAuthError } from './oauth-error.js';

const MAX_FORM_BYTES = 16 * 1024;

/**
 * Reads a client-authenticated OAuth request: the strictly parsed form body, the Authorization
 * header and the certificate of the TLS connection. Credentials in the query string are refused
 * (RFC 6749 §2.3.1).
 */
export async function readClientCall(request: Request): Promise<ClientCall> {
  const query = new URL(request.originalUrl, 'https://query.invalid').searchParams;
  if (query.has('client_secret') || query.has('client_id')) {
    throw new OAuthError('invalid_request', 'credentials_in_query');
  }

  const body = await readBody(request);
  const parsed = FormParameters.parse(request.headers['content-type'], body);
  if (!parsed.ok) {
    throw new OAuthError('invalid_request', parsed.refusal);
  }

  const socket = request.socket as TLSSocket;
  const certificate =
    typeof socket.getPeerX509Certificate === 'function'
      ? socket.getPeerX509Certificate()
      : undefined;
  return {
    authorization: request.headers.authorization,
    form: parsed.form,
    certificate,
    certificateAuthorized: certificate !== undefined && socket.authorized === true,
    certificateAuthorizationError:
      socket.authorizationError === undefined ? undefined : String(socket.authorizationError),
    remoteAddress: socket.remoteAddress,
  };
}

async function readBody(request: Request): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > MAX_FORM_BYTES) {
    throw new OAuthError('invalid_request', 'form_too_large');
  }
  // read with listeners, not `for await`: breaking out of an async iterator destroys the request
  // (and its socket), so the refusal could not be answered
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_FORM_BYTES) {
        request.off('data', onData);
        request.pause();
        reject(new OAuthError('invalid_request', 'form_too_large'));
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', () => reject(new OAuthError('invalid_request', 'form_malformed')));
  });
}
