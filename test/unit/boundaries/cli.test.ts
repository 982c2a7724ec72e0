/** src/cli: commands; testing/ tools only through a dynamic import(). */
import { describeBoundary } from './boundary.js';

describeBoundary('cli', {
  mayImport: ['app', 'graph', 'signaling', 'media', 'ingress', 'calls', 'events', 'store', 'server', 'config', 'util', 'testing', 'net', 'storage'],
});
