/** MEDIABOT_STORAGE_URL and the MEDIABOT_STORAGE_* settings: accepted forms, and clear errors that never show a secret. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { parseStorageSettings } from '../../../src/config/storage.js';

const parse = (env: Record<string, string>) => parseStorageSettings((k) => env[k]);
const KEY = 'c2VjcmV0LWFjY291bnQta2V5LWZvci10ZXN0cw==';
const CS = `DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${KEY};EndpointSuffix=core.windows.net`;

function refused(env: Record<string, string>, variable: string): string {
  try {
    parse(env);
  } catch (err) {
    expect(err).toMatchObject({ code: 'MEDIABOT_CONFIG_INVALID', details: { variable } });
    const message = (err as Error).message;
    for (const secret of [KEY, 'wJalrXUtnFEMI', 'AKIAEXAMPLE']) expect(message).not.toContain(secret);
    return message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('MEDIABOT_STORAGE_URL', () => {
  it('is local by default and for file:', () => {
    expect(parse({})).toEqual({ target: { kind: 'local' }, keepLocal: false, urlTtlS: 3600 });
    expect(parse({ MEDIABOT_STORAGE_URL: 'file:' }).target).toEqual({ kind: 'local' });
    expect(loadConfig({}).storage.target.kind).toBe('local');
  });

  it('names an Azure container with a connection string', () => {
    expect(parse({ MEDIABOT_STORAGE_URL: 'azure-blob://call-archive/teams/eu', MEDIABOT_STORAGE_AZURE_CONNECTION_STRING: CS }).target).toEqual({ kind: 'azure', container: 'call-archive', prefix: 'teams/eu', connectionString: CS });
  });

  it('takes an Azure account URL with an account key, and a path-style emulator URL', () => {
    expect(parse({ MEDIABOT_STORAGE_URL: 'https://acme.blob.core.windows.net/call-archive/', MEDIABOT_STORAGE_AZURE_ACCOUNT_KEY: KEY }).target).toEqual({
      kind: 'azure',
      container: 'call-archive',
      prefix: '',
      serviceUrl: 'https://acme.blob.core.windows.net',
      accountName: 'acme',
      accountKey: KEY,
    });
    expect(parse({ MEDIABOT_STORAGE_URL: 'http://127.0.0.1:10000/devstoreaccount1/calls/x', MEDIABOT_STORAGE_AZURE_ACCOUNT_KEY: KEY }).target).toMatchObject({ serviceUrl: 'http://127.0.0.1:10000/devstoreaccount1', accountName: 'devstoreaccount1', container: 'calls', prefix: 'x' });
  });

  it('takes s3:// with region, endpoint and path style, and the key pair', () => {
    const t = parse({
      MEDIABOT_STORAGE_URL: 's3://call-archive/prod?region=eu-west-1&endpoint=http://127.0.0.1:9000/&forcePathStyle=true',
      MEDIABOT_STORAGE_S3_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      MEDIABOT_STORAGE_S3_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG',
      MEDIABOT_STORAGE_KEEP_LOCAL: 'true',
      MEDIABOT_STORAGE_URL_TTL_S: '900',
    });
    expect(t).toEqual({
      target: { kind: 's3', bucket: 'call-archive', prefix: 'prod', region: 'eu-west-1', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true, accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG' },
      keepLocal: true,
      urlTtlS: 900,
    });
    // Neither key: the AWS SDK's own credential chain.
    expect(parse({ MEDIABOT_STORAGE_URL: 's3://call-archive' }).target).toEqual({ kind: 's3', bucket: 'call-archive', prefix: '', region: 'us-east-1', forcePathStyle: false });
  });

  it('refuses what it cannot use, naming the variable', () => {
    expect(refused({ MEDIABOT_STORAGE_URL: 'ftp://archive/calls' }, 'MEDIABOT_STORAGE_URL')).toMatch(/s3:\/\//);
    refused({ MEDIABOT_STORAGE_URL: 'not a url' }, 'MEDIABOT_STORAGE_URL');
    refused({ MEDIABOT_STORAGE_URL: 'file:///var/data' }, 'MEDIABOT_STORAGE_URL');
    refused({ MEDIABOT_STORAGE_URL: 'azure-blob://Bad_Container', MEDIABOT_STORAGE_AZURE_CONNECTION_STRING: CS }, 'MEDIABOT_STORAGE_URL');
    refused({ MEDIABOT_STORAGE_URL: 'azure-blob://calls/../up', MEDIABOT_STORAGE_AZURE_CONNECTION_STRING: CS }, 'MEDIABOT_STORAGE_URL');
    refused({ MEDIABOT_STORAGE_URL: 'azure-blob://calls' }, 'MEDIABOT_STORAGE_AZURE_CONNECTION_STRING');
    refused({ MEDIABOT_STORAGE_URL: 'azure-blob://calls', MEDIABOT_STORAGE_AZURE_CONNECTION_STRING: 'AccountName=acme;SharedAccessSignature=sv=2020&sig=abc' }, 'MEDIABOT_STORAGE_AZURE_CONNECTION_STRING');
    refused({ MEDIABOT_STORAGE_URL: 'https://acme.blob.core.windows.net/calls' }, 'MEDIABOT_STORAGE_AZURE_ACCOUNT_KEY');
    refused({ MEDIABOT_STORAGE_URL: 'https://acme.blob.core.windows.net/calls?sv=2020&sig=abc', MEDIABOT_STORAGE_AZURE_ACCOUNT_KEY: KEY }, 'MEDIABOT_STORAGE_URL');
    refused({ MEDIABOT_STORAGE_URL: 'https://acme.blob.core.windows.net/', MEDIABOT_STORAGE_AZURE_ACCOUNT_KEY: KEY }, 'MEDIABOT_STORAGE_URL');
    refused({ MEDIABOT_STORAGE_URL: 's3://AB' }, 'MEDIABOT_STORAGE_URL');
    refused({ MEDIABOT_STORAGE_URL: 's3://bucket-a?region=eu-west-1&acl=public-read' }, 'MEDIABOT_STORAGE_URL');
    refused({ MEDIABOT_STORAGE_URL: 's3://bucket-a?endpoint=ftp://127.0.0.1' }, 'MEDIABOT_STORAGE_URL');
    refused({ MEDIABOT_STORAGE_URL: 's3://bucket-a?forcePathStyle=yes' }, 'MEDIABOT_STORAGE_URL');
    refused({ MEDIABOT_STORAGE_URL: 's3://bucket-a', MEDIABOT_STORAGE_S3_ACCESS_KEY_ID: 'AKIAEXAMPLE' }, 'MEDIABOT_STORAGE_S3_SECRET_ACCESS_KEY');
    refused({ MEDIABOT_STORAGE_S3_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI' }, 'MEDIABOT_STORAGE_S3_SECRET_ACCESS_KEY');
    refused({ MEDIABOT_STORAGE_AZURE_ACCOUNT_KEY: KEY }, 'MEDIABOT_STORAGE_AZURE_ACCOUNT_KEY');
    refused({ MEDIABOT_STORAGE_KEEP_LOCAL: 'yes' }, 'MEDIABOT_STORAGE_KEEP_LOCAL');
    refused({ MEDIABOT_STORAGE_URL_TTL_S: '10' }, 'MEDIABOT_STORAGE_URL_TTL_S');
    refused({ MEDIABOT_STORAGE_URL_TTL_S: '604801' }, 'MEDIABOT_STORAGE_URL_TTL_S');
  });

  it('never shows credentials given in the URL itself', () => {
    const message = refused({ MEDIABOT_STORAGE_URL: `https://acme:${KEY}@acme.blob.core.windows.net/calls` }, 'MEDIABOT_STORAGE_URL');
    expect(message).toContain('hidden');
  });

  it('stops loadConfig with the same error', () => {
    expect(() => loadConfig({ MEDIABOT_STORAGE_URL: 's3://bucket-a?bogus=1' })).toThrow(expect.objectContaining({ code: 'MEDIABOT_CONFIG_INVALID' }));
  });
});
