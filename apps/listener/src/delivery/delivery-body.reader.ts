import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { LISTENER_SETTINGS } from '../listener.tokens.js';
import type { ListenerSettings } from '../config/listener-settings.js';
import { readRawBody } from '../transport/raw-body.js';
import type { DeliveryContext } from './delivery-context.js';

/** Reads a delivery's raw body once, within the configured limit, for the HMAC check and intake. */
@Injectable()
export class DeliveryBodyReader {
  constructor(@Inject(LISTENER_SETTINGS) private readonly settings: ListenerSettings) {}

  read(delivery: DeliveryContext, request: IncomingMessage, response: ServerResponse) {
    delivery.body ??= readRawBody(request, response, this.settings.env.LISTENER_BODY_LIMIT_BYTES);
    return delivery.body;
  }
}
