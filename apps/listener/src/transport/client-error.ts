import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '@nestjs/common';
import { type ListenerMetrics, UNKNOWN_PROFILE_LABEL } from '../metrics/listener-metrics.js';

/** A request Node's HTTP parser refused before any route saw it, and how it is answered. */
export interface ClientErrorAnswer {
  readonly status: number;
  readonly reason: string;
  readonly message: string;
}

/**
 * Maps Node's parser and timeout errors to a status and a stable reason code. Undefined means the
 * connection is already gone (reset, closed): nothing can be answered.
 */
export function clientErrorAnswer(code: string | undefined): ClientErrorAnswer | undefined {
  if (code === 'ECONNRESET' || code === 'EPIPE') return undefined;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      status: 408,
      reason: 'request_timeout',
      message: 'the request was not received in time',
    };
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return {
      status: 431,
      reason: 'request_headers_too_large',
      message: 'the request headers are larger than this listener accepts',
    };
  }
  return { status: 400, reason: 'request_malformed', message: 'the request is not valid HTTP/1.1' };
}

/**
 * Answers a request Node refused while parsing it (malformed framing, oversized headers, a slow
 * client past its timeout) with the listener's JSON error body, a warn line and a counted reason,
 * instead of Node's bare status line.
 */
export function handleClientError(
  error: NodeJS.ErrnoException,
  socket: Duplex,
  logger: Logger,
  metrics: ListenerMetrics,
): void {
  const answer = clientErrorAnswer(error.code);
  if (answer === undefined) {
    socket.destroy();
    return;
  }

  metrics.deliveries.inc({
    profile: UNKNOWN_PROFILE_LABEL,
    outcome: 'rejected',
    reason: answer.reason,
  });
  logger.warn({
    msg: 'request refused before routing',
    reason: answer.reason,
    detail: error.code,
    status: answer.status,
  });

  // a response already on its way cannot get a second status line
  const pending = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || pending?.headersSent === true) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: answer.reason, message: answer.message });
  socket.end(
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Cache-Control: no-store\r\n' +
      'Connection: close\r\n\r\n' +
      body,
  );
}
