import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { evaluateClientCertificate, verifyCertificateChain } from '@countersign/security';
import { deliveryOf } from '../delivery/delivery-context.js';
import { ListenerMetrics } from '../metrics/listener-metrics.js';
import { requiresCheck } from '../profiles/delivery-profile.js';
import { DeliveryRejection } from '../rejection/delivery-rejection.js';
import { ClientCertificateReader } from '../transport/client-certificate.reader.js';

/**
 * The `mtls` check: a client certificate was presented, chains to a trusted CA (the TLS stack's
 * verdict on a direct connection, narrowed to the profile's own CAs when it has some), is within
 * its validity, and matches the profile's subjects and pins.
 */
@Injectable()
export class MtlsGuard implements CanActivate {
  constructor(
    private readonly certificates: ClientCertificateReader,
    private readonly metrics: ListenerMetrics,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Request>();
    const delivery = deliveryOf(request);
    const rules = delivery.profile.certificate;
    if (!requiresCheck(delivery.profile, 'mtls') || rules === undefined) return true;

    await this.metrics.timeCheck('mtls', () => {
      delivery.connectionCertificate ??= this.certificates.read(request);
      const read = delivery.connectionCertificate;
      if (!read.ok) throw new DeliveryRejection(read.reason, read.detail);
      if (read.evidence === undefined) {
        throw new DeliveryRejection('certificate_missing', 'no certificate was forwarded');
      }

      const verdict = evaluateClientCertificate(read.evidence, rules.policy);
      if (!verdict.ok) throw new DeliveryRejection(verdict.reason, verdict.detail);

      const presented = read.evidence;
      if (presented.source === 'tls' && rules.profileTrust !== undefined && presented.leaf) {
        const chain = verifyCertificateChain(
          presented.leaf,
          this.certificates.intermediates(request),
          rules.profileTrust,
        );
        if (!chain.ok) throw new DeliveryRejection(chain.reason, chain.detail);
      }

      delivery.certificate = verdict.evidence;
      delivery.passed.push('mtls');
    });
    return true;
  }
}
