export * from './connect-event.js';
export { extractDocuments, parseConnectDelivery } from './connect-delivery.parser.js';
export { deliveryKey } from './delivery-key.js';
