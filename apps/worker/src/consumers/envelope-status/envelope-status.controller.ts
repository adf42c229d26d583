import {
  BadRequestException,
  Controller,
  Get,
  Header,
  NotFoundException,
  Param,
  ServiceUnavailableException,
} from '@nestjs/common';
import {
  ENVELOPE_ID_RULE,
  EnvelopeStatusStore,
  isEnvelopeId,
  type EnvelopeStatus,
} from './envelope-status.store.js';

/** Read-only view of the envelope-status consumer's store. */
@Controller('envelopes')
export class EnvelopeStatusController {
  constructor(private readonly store: EnvelopeStatusStore) {}

  @Get(':envelopeId/status')
  @Header('Cache-Control', 'no-store')
  async status(@Param('envelopeId') envelopeId: string): Promise<EnvelopeStatus> {
    if (!isEnvelopeId(envelopeId)) {
      throw new BadRequestException({ error: 'envelope_id_invalid', message: ENVELOPE_ID_RULE });
    }

    let status: EnvelopeStatus | undefined;
    try {
      status = await this.store.get(envelopeId);
    } catch {
      throw new ServiceUnavailableException({ error: 'store_unavailable', message: 'try later' });
    }
    if (!status) {
      throw new NotFoundException({ error: 'envelope_unknown', message: 'no status recorded' });
    }
    return status;
  }
}
