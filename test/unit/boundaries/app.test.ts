/** src/app: composition only; the emulator (testing/) only through a dynamic import(). */
import { describeBoundary } from './boundary.js';

describeBoundary('app', {
  mayImport: ['graph', 'signaling', 'media', 'ingress', 'calls', 'events', 'store', 'server', 'config', 'util', 'testing', 'net', 'cluster', 'webhooks', 'retention', 'storage'],
  never: ['cli'],
});
