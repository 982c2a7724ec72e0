/** src/net: outbound fetches of caller-given URLs (address filter, limits); a leaf every layer above may use. */
import { describeBoundary } from './boundary.js';

describeBoundary('net', {
  mayImport: ['util'],
  never: ['graph', 'signaling', 'media', 'ingress', 'calls', 'events', 'store', 'server', 'app', 'cli', 'config', 'testing'],
});
