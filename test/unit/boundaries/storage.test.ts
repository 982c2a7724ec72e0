/** src/storage: object storage (Azure Blob Storage, S3) and the upload worker; composed in app/, its SDKs loaded only when configured. */
import { describeBoundary } from './boundary.js';

describeBoundary('storage', {
  mayImport: ['store', 'config', 'util'],
  never: ['media', 'calls', 'server', 'app', 'cli', 'ingress', 'graph', 'signaling', 'webhooks', 'cluster', 'testing'],
});
