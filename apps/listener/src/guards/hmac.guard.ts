import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request, Response } from 'express';
import { extractConnectSignatures, verifyConnectSignatures } from '@countersign/security';
import { deliveryOf } from '../delivery/delivery-context.js';
import { DeliveryBodyReader } from '../delivery/delivery-body.reader.js';
import { ListenerMetrics } from '../metrics/listener-metrics.js';
import { requiresCheck } from '../profiles/delivery-profile.js';
import { DeliveryRejection } from '../rejection/delivery-rejection.js';

/**
 * The `hmac` check: one of the `X-DocuSign-Signature-N` headers is the HMAC-SHA256 of the exact
 * body bytes under one of the profile's keys (several keys allow rotation). The body is read only
 * now, after every header check passed.
 */
@Injectable()
export class HmacGuard implements CanActivate {
  constructor(
    private readonly bodies: DeliveryBodyReader,
    private readonly metrics: ListenerMetrics,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const delivery = deliveryOf(request);
    const keys = delivery.profile.hmacKeys;
    if (!requiresCheck(delivery.profile, 'hmac') || keys === undefined) return true;

    const signatures = extractConnectSignatures(request.rawHeaders);
    if (!signatures.ok) throw new DeliveryRejection(signatures.reason, signatures.detail);
    const body = await this.bodies.read(delivery, request, http.getResponse<Response>());

    await this.metrics.timeCheck('hmac', () => {
      const verdict = verifyConnectSignatures(body, signatures.evidence, keys);
      if (!verdict.ok) throw new DeliveryRejection(verdict.reason, verdict.detail);
      delivery.hmac = verdict.evidence;
      delivery.passed.push('hmac');
    });
    return true;
  }
}
