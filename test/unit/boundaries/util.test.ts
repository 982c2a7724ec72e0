/** src/util: small shared helpers with no dependencies. */
import { describeBoundary } from './boundary.js';

describeBoundary('util', {
  mayImport: [],
  never: ['graph', 'signaling', 'media', 'ingress', 'calls', 'events', 'store', 'server', 'app', 'cli', 'config', 'testing'],
});
