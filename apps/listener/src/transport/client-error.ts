import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
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

/** Writes a whole JSON error answer on a raw socket and closes it. */
function endWithAnswer(socket: Duplex, answer: ClientErrorAnswer, extraHeaders = ''): void {
  const body = JSON.stringify({ error: answer.reason, message: answer.message });
  socket.end(
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Cache-Control: no-store\r\n' +
      extraHeaders +
      'Connection: close\r\n\r\n' +
      body,
  );
}

function countAndLog(
  answer: ClientErrorAnswer,
  detail: string,
  logger: Logger,
  metrics: ListenerMetrics,
): void {
  metrics.deliveries.inc({
    profile: UNKNOWN_PROFILE_LABEL,
    outcome: 'rejected',
    reason: answer.reason,
  });
  logger.warn({
    msg: 'request refused before routing',
    reason: answer.reason,
    detail,
    status: answer.status,
  });
}

/**
 * An HTTP/1.1 request without a Host header (RFC 9112 §3.2). Node would answer it with a bare 400
 * itself (`requireHostHeader`); the server is created without that check and this answers instead.
 */
export function handleMissingHost(
  request: IncomingMessage,
  response: ServerResponse,
  logger: Logger,
  metrics: ListenerMetrics,
): boolean {
  const http11 =
    request.httpVersionMajor > 1 ||
    (request.httpVersionMajor === 1 && request.httpVersionMinor >= 1);
  if (!http11 || request.headers.host !== undefined) return false;
  const answer: ClientErrorAnswer = {
    status: 400,
    reason: 'request_malformed',
    message: 'an HTTP/1.1 request needs a Host header',
  };
  countAndLog(answer, 'no Host header', logger, metrics);
  response.shouldKeepAlive = false;
  const body = JSON.stringify({ error: answer.reason, message: answer.message });
  response.writeHead(answer.status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  response.end(body);
  return true;
}

/**
 * An `Expect` header other than `100-continue` (RFC 9110 §10.1.1): 417, with the listener's JSON
 * body, a warn line and a counted reason instead of Node's bare answer.
 */
export function handleUnmetExpectation(
  response: ServerResponse,
  logger: Logger,
  metrics: ListenerMetrics,
): void {
  const answer: ClientErrorAnswer = {
    status: 417,
    reason: 'request_malformed',
    message: 'only the 100-continue expectation is supported',
  };
  countAndLog(answer, 'unsupported Expect header', logger, metrics);
  const body = JSON.stringify({ error: answer.reason, message: answer.message });
  response.shouldKeepAlive = false;
  response.writeHead(answer.status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  response.end(body);
}

/** A CONNECT request: Node would drop the connection without a word; answer 405 instead. */
export function handleConnectMethod(
  socket: Duplex,
  logger: Logger,
  metrics: ListenerMetrics,
): void {
  const answer: ClientErrorAnswer = {
    status: 405,
    reason: 'request_malformed',
    message: 'CONNECT is not served here',
  };
  countAndLog(answer, 'CONNECT method', logger, metrics);
  endWithAnswer(socket, answer, 'Allow: GET, POST\r\n');
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

  countAndLog(answer, error.code ?? 'unknown', logger, metrics);

  // a response already on its way cannot get a second status line
  const pending = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || pending?.headersSent === true) {
    socket.destroy();
    return;
  }
  endWithAnswer(socket, answer);
}
