import {
  Catch,
  HttpException,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { findDelivery } from '../delivery/delivery-context.js';
import { ListenerMetrics, UNKNOWN_PROFILE_LABEL } from '../metrics/listener-metrics.js';
import { DeliveryRejection } from './delivery-rejection.js';
import { rejectionAnswer } from './rejection-answer.js';

/**
 * The one place a refusal becomes an HTTP answer: status and challenge from the reason code,
 * a body naming the code and a generic message, a warn log line and a counted metric.
 */
@Catch()
export class RejectionFilter implements ExceptionFilter {
  private readonly logger = new Logger(RejectionFilter.name);

  constructor(private readonly metrics: ListenerMetrics) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();

    if (exception instanceof DeliveryRejection) {
      this.answerRejection(exception, request, response);
      return;
    }
    if (exception instanceof HttpException) {
      // routing and framework refusals (unknown path, undecodable URL) are explained like any other
      const status = exception.getStatus();
      const reason = status === 404 ? 'not_found' : 'request_refused';
      this.metrics.deliveries.inc({ profile: UNKNOWN_PROFILE_LABEL, outcome: 'rejected', reason });
      this.logger.warn({
        msg: 'request refused',
        reason,
        detail: exception.message,
        method: request.method,
        status,
      });
      this.send(
        response,
        status,
        {},
        {
          error: reason,
          message: status === 404 ? 'no such resource' : 'the request was refused',
        },
      );
      return;
    }

    const delivery = findDelivery(request);
    this.logger.error({
      msg: 'delivery failed unexpectedly',
      deliveryId: delivery?.deliveryId,
      error: exception instanceof Error ? exception.message : String(exception),
    });
    this.metrics.deliveries.inc({
      profile: delivery?.profile?.name ?? UNKNOWN_PROFILE_LABEL,
      outcome: 'error',
      reason: 'internal_error',
    });
    this.send(response, 500, {}, { error: 'internal_error', message: 'the delivery failed' });
  }

  private answerRejection(rejection: DeliveryRejection, request: Request, response: Response) {
    const delivery = findDelivery(request);
    const profile = delivery?.profile?.name ?? UNKNOWN_PROFILE_LABEL;
    const answer = rejectionAnswer(rejection.reason);

    this.metrics.deliveries.inc({ profile, outcome: 'rejected', reason: rejection.reason });
    this.logger.warn({
      msg: 'delivery rejected',
      reason: rejection.reason,
      detail: rejection.detail,
      deliveryId: delivery?.deliveryId,
      profile,
      // a connection Node already answered (timeout) or the client closed gets no status from us
      status: request.socket?.destroyed === true ? undefined : answer.status,
    });

    this.send(response, answer.status, answer.headers, {
      error: rejection.reason,
      message: answer.message,
    });
  }

  private send(
    response: Response,
    status: number,
    headers: Readonly<Record<string, string>>,
    body: { error: string; message: string },
  ) {
    if (response.headersSent) {
      response.end();
      return;
    }
    response
      .status(status)
      .set({ 'Cache-Control': 'no-store', ...headers })
      .json(body);
  }
}
