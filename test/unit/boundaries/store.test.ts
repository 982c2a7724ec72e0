/** src/store: SQLite persistence of calls, speech and call records. */
import { describeBoundary } from './boundary.js';

describeBoundary('store', {
  mayImport: ['events', 'config', 'util'],
  never: ['media', 'calls', 'server', 'app', 'cli', 'ingress', 'graph', 'signaling', 'testing'],
});
