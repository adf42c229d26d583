import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Inject, Logger } from '@nestjs/common';
import { ConfigurationError } from '@countersign/common';
import { extractDocuments } from '@countersign/connect';
import type { WorkerConfig } from '../../config/worker.config.js';
import { ConnectConsumer } from '../../consumer/connect-consumer.decorator.js';
import {
  EnvelopeRejectedError,
  type ConnectConsumerHandler,
  type ConsumerEnvelope,
} from '../../consumer/connect-consumer-handler.js';
import { WORKER_CONFIG } from '../../worker.tokens.js';
import { archivePath } from './archive-path.js';

const PDF_MAGIC = Buffer.from('%PDF', 'latin1');

async function sameContent(file: string, bytes: Buffer): Promise<boolean> {
  try {
    return (await readFile(file)).equals(bytes);
  } catch {
    return false;
  }
}

/** Writes a file whole or not at all: temporary name, flushed to disk, then renamed. */
async function writeDurably(file: string, bytes: Buffer): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${dirname(file)}/.${randomUUID()}.tmp`;
  try {
    const handle = await open(temporary, 'w', 0o640);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } finally {
    await rm(temporary, { force: true });
  }
}

/** Archives the PDFs of completed envelopes whose deliveries include their documents. */
@ConnectConsumer({ name: 'document-archive', events: ['envelope-completed'], concurrency: 2 })
export class DocumentArchiveConsumer implements ConnectConsumerHandler {
  private readonly logger = new Logger(DocumentArchiveConsumer.name);

  constructor(@Inject(WORKER_CONFIG) private readonly config: WorkerConfig) {}

  async onConsumerStart(): Promise<void> {
    if (!this.config.archiveDir) {
      throw new ConfigurationError('environment', [
        'WORKER_ARCHIVE_DIR: required when the document-archive consumer runs',
      ]);
    }
    await mkdir(this.config.archiveDir, { recursive: true });
  }

  async handle(envelope: ConsumerEnvelope): Promise<void> {
    const { event, deliveryId } = envelope;
    const dir = this.config.archiveDir;
    if (!dir) throw new Error('WORKER_ARCHIVE_DIR is not set');
    if (event.documents.length === 0) {
      this.logger.debug({ msg: 'completed envelope without documents', deliveryId });
      return;
    }

    const extracted = extractDocuments(await envelope.loadPayload(), envelope.payload.contentType);
    if (!extracted.ok) {
      throw new EnvelopeRejectedError(`documents unreadable: ${extracted.reason}`);
    }

    // check every document before writing any, so a bad one leaves no partial archive
    const files = extracted.documents.map((document) => {
      const file = archivePath(dir, event.envelopeId ?? '', document.documentId, document.name);
      if (!file) {
        throw new EnvelopeRejectedError(`document ${document.documentId} has an unusable id`);
      }
      if (!document.pdf.subarray(0, PDF_MAGIC.length).equals(PDF_MAGIC)) {
        throw new EnvelopeRejectedError(`document ${document.documentId} is not a PDF`);
      }
      return { file, pdf: document.pdf };
    });

    for (const { file, pdf } of files) {
      if (await sameContent(file, pdf)) continue;
      await writeDurably(file, pdf);
    }
    this.logger.log({
      msg: 'documents archived',
      deliveryId,
      envelopeId: event.envelopeId,
      documents: files.length,
    });
  }
}
