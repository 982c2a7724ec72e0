/** src/graph: the Graph client: HTTP, auth and typed operations; knows nothing of calls' media or signaling state. */
import { describeBoundary } from './boundary.js';

describeBoundary('graph', {
  mayImport: ['config'],
  never: ['media', 'signaling', 'calls', 'ingress', 'server', 'app', 'cli', 'testing'],
});
