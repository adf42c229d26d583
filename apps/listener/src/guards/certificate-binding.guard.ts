import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { checkCertificateBinding } from '@countersign/security';
import { connectionLeaf, deliveryOf } from '../delivery/delivery-context.js';
import { ListenerMetrics } from '../metrics/listener-metrics.js';
import { requiresCheck } from '../profiles/delivery-profile.js';
import { DeliveryRejection } from '../rejection/delivery-rejection.js';
import { ClientCertificateReader } from '../transport/client-certificate.reader.js';

/**
 * Certificate binding (RFC 8705): a token carrying `cnf.x5t#S256` is accepted only over the
 * certificate it names, on this very connection. With `bound-token` an unbound token is refused;
 * without it, a bound token is still held to its binding. Runs on every delivery, cached or not.
 */
@Injectable()
export class CertificateBindingGuard implements CanActivate {
  constructor(
    private readonly certificates: ClientCertificateReader,
    private readonly metrics: ListenerMetrics,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Request>();
    const delivery = deliveryOf(request);
    const claims = delivery.tokenClaims;
    if (!requiresCheck(delivery.profile, 'oauth') || claims === undefined) return true;
    const required = requiresCheck(delivery.profile, 'bound-token');

    await this.metrics.timeCheck('bound-token', () => {
      delivery.connectionCertificate ??= this.certificates.read(request);
      const read = delivery.connectionCertificate;
      if (!read.ok && claims.cnf !== undefined) {
        throw new DeliveryRejection(read.reason, read.detail);
      }

      const verdict = checkCertificateBinding(claims, connectionLeaf(delivery), required);
      if (!verdict.ok) throw new DeliveryRejection(verdict.reason, verdict.detail);

      if (verdict.evidence.bound && delivery.token !== undefined) {
        delivery.token = { ...delivery.token, boundThumbprint: verdict.evidence.thumbprint };
      }
      if (required) delivery.passed.push('bound-token');
    });
    return true;
  }
}
