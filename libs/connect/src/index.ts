export * from './connect-event.js';
export {
  extractDocuments,
  parseConnectDelivery,
  parseConnectDeliveryYielding,
} from './connect-delivery.parser.js';
export { deliveryKey } from './delivery-key.js';
