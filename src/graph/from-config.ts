/** Wires token provider + HTTP client + operations from the process config (MEDIABOT_* variables). */
import type { MediabotConfig } from '../config/config.js';
import { MediabotError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createTokenProvider, type TokenProvider } from './auth.js';
import { GraphHttp, type RetryPolicy } from './http.js';
import { createGraphClient, type GraphClient } from './client.js';
import { CallTenants, callTenantRequester } from './tenant-routing.js';

export type GraphConfig = Pick<MediabotConfig, 'tenantId' | 'clientId' | 'clientSecret' | 'clientCert' | 'graphUrl' | 'authorityUrl'>;

export interface GraphFromConfigOptions {
  /** Extra CA to trust for both the authority and Graph (the emulator's). */
  caPem?: string;
  logger?: Logger;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  /** How non-Microsoft authorities get their endpoint metadata (see auth.ts). */
  metadata?: 'convention' | 'discover';
}

export interface GraphBundle {
  /** Requests about a call use a token of the call's tenant (see tenant-routing.ts). */
  graph: GraphClient;
  http: GraphHttp;
  tokens: TokenProvider;
  /** The tenant of each call; the callback guard feeds it from callback tokens (incoming calls). */
  callTenants: CallTenants;
}

/** Throws MEDIABOT_CONFIG_INVALID when tenant, client id or a credential is missing. */
export function createGraphFromConfig(cfg: GraphConfig, o: GraphFromConfigOptions = {}): GraphBundle {
  if (cfg.tenantId === undefined) throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'MEDIABOT_TENANT_ID is required for Graph', { variable: 'MEDIABOT_TENANT_ID' });
  if (cfg.clientId === undefined) throw new MediabotError('MEDIABOT_CONFIG_INVALID', 'MEDIABOT_CLIENT_ID is required for Graph', { variable: 'MEDIABOT_CLIENT_ID' });
  const tokens = createTokenProvider({
    tenantId: cfg.tenantId,
    clientId: cfg.clientId,
    clientSecret: cfg.clientSecret,
    clientCertPem: cfg.clientCert,
    authorityUrl: cfg.authorityUrl,
    graphUrl: cfg.graphUrl,
    caPem: o.caPem,
    ...(o.metadata ? { metadata: o.metadata } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
  });
  const http = new GraphHttp({
    graphUrl: cfg.graphUrl,
    tokenProvider: tokens,
    ...(o.caPem !== undefined ? { caPem: o.caPem } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.retry ? { retry: o.retry } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  });
  const callTenants = new CallTenants();
  return { graph: createGraphClient(callTenantRequester(http, callTenants)), http, tokens, callTenants };
}
