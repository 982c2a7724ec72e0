import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { isMediabotError } from '../../../src/errors.js';

function refusal(value: string): { code: string; variable: unknown; message: string } | null {
  try {
    loadConfig({ MEDIABOT_RETENTION_DAYS: value });
    return null;
  } catch (err) {
    if (!isMediabotError(err)) throw err;
    return { code: err.code, variable: err.details?.['variable'], message: err.message };
  }
}

describe('MEDIABOT_RETENTION_DAYS', () => {
  it('keeps data forever when unset, empty or 0', () => {
    expect(loadConfig({}).retention).toEqual({ days: 0 });
    expect(loadConfig({ MEDIABOT_RETENTION_DAYS: '' }).retention).toEqual({ days: 0 });
    expect(loadConfig({ MEDIABOT_RETENTION_DAYS: '0' }).retention).toEqual({ days: 0 });
  });

  it('reads a whole number of days', () => {
    expect(loadConfig({ MEDIABOT_RETENTION_DAYS: '30' }).retention).toEqual({ days: 30 });
    expect(loadConfig({ MEDIABOT_RETENTION_DAYS: '100000' }).retention).toEqual({ days: 100_000 });
  });

  it('refuses anything else with MEDIABOT_CONFIG_INVALID naming the variable', () => {
    for (const bad of ['-1', '1.5', '7d', 'seven', ' 7', '1e3', '100001', '99999999999']) {
      const r = refusal(bad);
      expect(r, bad).not.toBeNull();
      expect(r!.code, bad).toBe('MEDIABOT_CONFIG_INVALID');
      expect(r!.variable, bad).toBe('MEDIABOT_RETENTION_DAYS');
      expect(r!.message, bad).toMatch(/^MEDIABOT_RETENTION_DAYS=.* is invalid: expected a whole number of days/);
    }
  });
});
