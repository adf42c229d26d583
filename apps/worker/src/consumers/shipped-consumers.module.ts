import { Module } from '@nestjs/common';
import { AuditLogConsumer } from './audit-log/audit-log.consumer.js';
import { DocumentArchiveConsumer } from './document-archive/document-archive.consumer.js';
import { EnvelopeStatusConsumer } from './envelope-status/envelope-status.consumer.js';
import { EnvelopeStatusController } from './envelope-status/envelope-status.controller.js';
import { EnvelopeStatusStore } from './envelope-status/envelope-status.store.js';

/** The consumers that ship with Countersign: envelope status, document archive, audit log. */
@Module({
  controllers: [EnvelopeStatusController],
  providers: [
    EnvelopeStatusStore,
    EnvelopeStatusConsumer,
    DocumentArchiveConsumer,
    AuditLogConsumer,
  ],
})
export class ShippedConsumersModule {}
