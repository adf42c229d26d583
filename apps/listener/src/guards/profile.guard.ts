import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { LISTENER_SETTINGS } from '../listener.tokens.js';
import type { ListenerSettings } from '../config/listener-settings.js';
import { startDelivery } from '../delivery/delivery-context.js';
import { DeliveryRejection } from '../rejection/delivery-rejection.js';

/** First guard: starts the delivery and finds its profile; an unknown profile runs nothing else. */
@Injectable()
export class ProfileGuard implements CanActivate {
  constructor(@Inject(LISTENER_SETTINGS) private readonly settings: ListenerSettings) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    const delivery = startDelivery(request);

    const name = request.params.profile;
    const profile = typeof name === 'string' ? this.settings.profiles.get(name) : undefined;
    if (profile === undefined) throw new DeliveryRejection('profile_unknown');
    delivery.profile = profile;
    return true;
  }
}
