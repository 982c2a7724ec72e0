/** src/cluster: many instances on Redis; composed by app/, never imported by the layers it routes for. */
import { describeBoundary } from './boundary.js';

describeBoundary('cluster', {
  mayImport: ['server', 'signaling', 'events', 'config'],
  never: ['app', 'cli', 'testing', 'media', 'ingress'],
});
