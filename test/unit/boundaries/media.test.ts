/** src/media: the media core: wire codecs, codec, pipeline, sessions, threads, hooks; media flows one way, so it imports nothing above it. */
import { describeBoundary } from './boundary.js';

describeBoundary('media', {
  mayImport: ['config', 'util'],
  never: ['app', 'server', 'calls', 'ingress', 'events', 'store', 'signaling', 'graph', 'cli', 'testing'],
});
