/** src/calls: the call service: control, speakers, artifacts, prompts. */
import { describeBoundary } from './boundary.js';

describeBoundary('calls', {
  mayImport: ['graph', 'signaling', 'media', 'ingress', 'events', 'store', 'config', 'util', 'net'],
  never: ['server', 'app', 'cli', 'testing'],
});
