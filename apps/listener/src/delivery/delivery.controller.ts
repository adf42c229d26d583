import { Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { BasicCredentialsGuard } from '../guards/basic-credentials.guard.js';
import { BearerTokenGuard } from '../guards/bearer-token.guard.js';
import { CertificateBindingGuard } from '../guards/certificate-binding.guard.js';
import { HmacGuard } from '../guards/hmac.guard.js';
import { MtlsGuard } from '../guards/mtls.guard.js';
import { ApiConnectDelivery } from '../openapi/delivery.openapi.js';
import { ProfileGuard } from '../guards/profile.guard.js';
import { DeliveryRejection } from '../rejection/delivery-rejection.js';
import { deliveryOf } from './delivery-context.js';
import { DeliveryBodyReader } from './delivery-body.reader.js';
import { DeliveryIntakeService, type DeliveryReceipt } from './delivery-intake.service.js';

function countHeader(rawHeaders: readonly string[], name: string): number {
  let count = 0;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    if (rawHeaders[index].toLowerCase() === name) count += 1;
  }
  return count;
}

/** `POST /connect/:profile`: the checks run as guards in this order, then the intake. */
@Controller('connect')
export class DeliveryController {
  constructor(
    private readonly bodies: DeliveryBodyReader,
    private readonly intake: DeliveryIntakeService,
  ) {}

  @Post(':profile')
  @HttpCode(200)
  @ApiConnectDelivery()
  @UseGuards(
    ProfileGuard,
    MtlsGuard,
    BearerTokenGuard,
    BasicCredentialsGuard,
    CertificateBindingGuard,
    HmacGuard,
  )
  async receive(
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<DeliveryReceipt> {
    const delivery = deliveryOf(request);
    // Node keeps the first of two Content-Type headers; an ambiguous type is refused instead
    if (countHeader(request.rawHeaders, 'content-type') > 1) {
      throw new DeliveryRejection('body_unsupported_media_type', 'Content-Type header repeated');
    }
    const body = await this.bodies.read(delivery, request, response);
    response.setHeader('Cache-Control', 'no-store');
    return this.intake.accept(delivery, body, request.headers['content-type']);
  }
}
