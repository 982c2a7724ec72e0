/** src/server: fastify routes; they depend on calls/ and events/, never on the composition in app/. */
import { describeBoundary } from './boundary.js';

describeBoundary('server', {
  mayImport: ['calls', 'events', 'signaling', 'store', 'graph', 'config', 'util', 'net', 'webhooks', 'retention'],
  never: ['app', 'cli', 'testing'],
});
