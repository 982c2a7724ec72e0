/** src/ingress: WebSocket media adapters (ACS, bridge) feeding media sessions. */
import { describeBoundary } from './boundary.js';

describeBoundary('ingress', {
  mayImport: ['media', 'events', 'config', 'util'],
  never: ['calls', 'server', 'app', 'cli', 'signaling', 'graph', 'testing'],
});
