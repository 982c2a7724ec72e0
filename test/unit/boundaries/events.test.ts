/** src/events: the typed event bus (it carries media events, as types only). */
import { describeBoundary } from './boundary.js';

describeBoundary('events', {
  mayImport: ['media', 'util'],
  never: ['calls', 'server', 'app', 'cli', 'signaling', 'graph', 'ingress', 'store', 'testing'],
});
