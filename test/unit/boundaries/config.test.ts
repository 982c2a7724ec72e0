/** src/config: the one reader of the environment; depends on nothing but errors. */
import { describeBoundary } from './boundary.js';

describeBoundary('config', {
  mayImport: ['util'],
  never: ['graph', 'signaling', 'media', 'ingress', 'calls', 'events', 'store', 'server', 'app', 'cli', 'testing'],
});
