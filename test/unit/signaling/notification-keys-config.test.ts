import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { richNotificationReaderFrom } from '../../../src/signaling/rich-notifications.js';

describe('rich notification keys in config', () => {
  it('reads the current and the previous key with their certificate ids', () => {
    const cfg = loadConfig({ MEDIABOT_NOTIFICATION_KEY: 'k2.pem', MEDIABOT_NOTIFICATION_CERT_ID: 'cert-2', MEDIABOT_NOTIFICATION_PREVIOUS_KEY: 'k1.pem', MEDIABOT_NOTIFICATION_PREVIOUS_CERT_ID: 'cert-1' });
    expect(cfg.notificationKeys).toEqual([
      { certificateId: 'cert-2', pem: 'k2.pem' },
      { certificateId: 'cert-1', pem: 'k1.pem' },
    ]);
    expect(loadConfig({}).notificationKeys).toEqual([]);
  });

  it('refuses a key without its id, an id without its key, and a previous key alone', () => {
    expect(() => loadConfig({ MEDIABOT_NOTIFICATION_KEY: 'k.pem' })).toThrow(/MEDIABOT_NOTIFICATION_CERT_ID/);
    expect(() => loadConfig({ MEDIABOT_NOTIFICATION_CERT_ID: 'c' })).toThrow(/MEDIABOT_NOTIFICATION_KEY/);
    expect(() => loadConfig({ MEDIABOT_NOTIFICATION_PREVIOUS_KEY: 'k.pem', MEDIABOT_NOTIFICATION_PREVIOUS_CERT_ID: 'c' })).toThrow(/current key/);
  });

  it('no reader without keys; an unreadable key is a config error', () => {
    expect(richNotificationReaderFrom({ notificationKeys: [], clientId: 'app', authorityUrl: 'https://login.example.test', tenants: [] })).toBeUndefined();
    expect(() => richNotificationReaderFrom({ notificationKeys: [{ certificateId: 'c', pem: '/nonexistent/key.pem' }], clientId: 'app', authorityUrl: 'https://login.example.test', tenants: [] })).toThrow(/MEDIABOT_NOTIFICATION_KEY/);
  });
});
