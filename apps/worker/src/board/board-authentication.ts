import type { LoggerService } from '@nestjs/common';
import { parseBasicAuthorization, verifyBasicCredentials } from '@countersign/security';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { QueueBoardConfig } from './queue-board.config.js';

const CHALLENGE = 'Basic realm="countersign-queue-board", charset="UTF-8"';

/**
 * Express middleware in front of the board: Basic credentials checked against the configured user
 * and scrypt hash (constant-time, both parts always checked). Anything else gets 401 with a
 * challenge; the log names the reason code only, never what was presented.
 */
export function boardAuthentication(
  board: QueueBoardConfig,
  logger: LoggerService,
): RequestHandler {
  return (request: Request, response: Response, next: NextFunction) => {
    const presented = parseBasicAuthorization(request.headers.authorization);
    const checked = presented.ok
      ? verifyBasicCredentials(presented.evidence, board)
      : Promise.resolve(presented);

    checked.then((verdict) => {
      if (verdict.ok) {
        next();
        return;
      }
      logger.warn?.({
        msg: 'queue board access refused',
        reason: verdict.reason,
        path: request.path,
        remoteAddress: request.socket.remoteAddress,
      });
      response
        .status(401)
        .set({ 'WWW-Authenticate': CHALLENGE, 'Cache-Control': 'no-store' })
        .json({ error: verdict.reason, message: 'the credentials were not accepted' });
    }, next);
  };
}
