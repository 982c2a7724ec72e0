import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS, loadConfig } from '../../../src/config/config.js';

describe('ACS token settings', () => {
  it('leaves ACS JWT checks off by default and points at ACS’s OpenID configuration', () => {
    const cfg = loadConfig({});
    expect(cfg.acsResourceId).toBeUndefined();
    expect(cfg.acsOpenIdUrl).toBe(CONFIG_DEFAULTS.acsOpenIdUrl);
  });

  it('takes a resource id and an OpenID URL, and names the variable when either is wrong', () => {
    const cfg = loadConfig({ MEDIABOT_ACS_RESOURCE_ID: '6f1c2a2e-8d5b-4c8e-9a61-3f0b7d2c9e10', MEDIABOT_ACS_OPENID_URL: 'http://127.0.0.1:9/openid' });
    expect(cfg.acsResourceId).toBe('6f1c2a2e-8d5b-4c8e-9a61-3f0b7d2c9e10');
    expect(cfg.acsOpenIdUrl).toBe('http://127.0.0.1:9/openid');
    expect(() => loadConfig({ MEDIABOT_ACS_RESOURCE_ID: 'not a guid; drop table' })).toThrow(expect.objectContaining({ code: 'MEDIABOT_CONFIG_INVALID', message: expect.stringContaining('MEDIABOT_ACS_RESOURCE_ID') }));
    expect(() => loadConfig({ MEDIABOT_ACS_OPENID_URL: 'nope' })).toThrow(expect.objectContaining({ code: 'MEDIABOT_CONFIG_INVALID', message: expect.stringContaining('MEDIABOT_ACS_OPENID_URL') }));
  });
});
