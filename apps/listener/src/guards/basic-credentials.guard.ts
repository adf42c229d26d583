import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { parseBasicAuthorization, verifyBasicCredentials } from '@countersign/security';
import { deliveryOf } from '../delivery/delivery-context.js';
import { ListenerMetrics } from '../metrics/listener-metrics.js';
import { requiresCheck } from '../profiles/delivery-profile.js';
import { DeliveryRejection } from '../rejection/delivery-rejection.js';
import { singleAuthorization } from './bearer-token.guard.js';

/** The `basic` check: the profile's username and a password matching its scrypt hash. */
@Injectable()
export class BasicCredentialsGuard implements CanActivate {
  constructor(private readonly metrics: ListenerMetrics) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Request>();
    const delivery = deliveryOf(request);
    const expected = delivery.profile.basic;
    if (!requiresCheck(delivery.profile, 'basic') || expected === undefined) return true;

    await this.metrics.timeCheck('basic', async () => {
      const header = singleAuthorization(request);
      if (header === null) throw new DeliveryRejection('basic_malformed', 'repeated Authorization');
      if (header === undefined || header.trim() === '')
        throw new DeliveryRejection('basic_missing');

      const presented = parseBasicAuthorization(header);
      if (!presented.ok) throw new DeliveryRejection(presented.reason, presented.detail);
      const verdict = await verifyBasicCredentials(presented.evidence, expected);
      if (!verdict.ok) throw new DeliveryRejection(verdict.reason, verdict.detail);

      delivery.basic = { username: verdict.evidence.username };
      delivery.passed.push('basic');
    });
    return true;
  }
}
