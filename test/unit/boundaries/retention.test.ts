/** src/retention: deleting a call's data and the retention sweep, over the stores; the composition wires it to the call service. */
import { describeBoundary } from './boundary.js';

describeBoundary('retention', {
  mayImport: ['store', 'events', 'util'],
  never: ['server', 'app', 'cli', 'calls', 'media', 'graph', 'testing'],
});
