/** src/signaling: callbacks, operations and call state; never touches media. */
import { describeBoundary } from './boundary.js';

describeBoundary('signaling', {
  mayImport: ['graph', 'events', 'store', 'config', 'util'],
  never: ['media', 'calls', 'ingress', 'server', 'app', 'cli', 'testing'],
});
