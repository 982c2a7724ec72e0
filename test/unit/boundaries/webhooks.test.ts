/** src/webhooks: signed webhook delivery (outbox, dispatcher, publisher); composed in app/, listed by server/. */
import { describeBoundary } from './boundary.js';

describeBoundary('webhooks', {
  mayImport: ['events', 'store', 'net', 'config', 'util'],
  never: ['media', 'calls', 'server', 'app', 'cli', 'ingress', 'graph', 'signaling', 'testing'],
});
