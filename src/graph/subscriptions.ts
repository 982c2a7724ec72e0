/** Change-notification subscriptions (callRecords, presence): create, renew (PATCH), reauthorize, delete. */
import type { Subscription } from '@microsoft/microsoft-graph-types';
import type { GraphRequester } from './http.js';
import { invalidArgument, segment } from './errors.js';
import { action, entity, rejectingApi, type ActionResult } from './result.js';

export interface CreateSubscriptionBody {
  changeType: string;
  notificationUrl: string;
  resource: string;
  expirationDateTime: string;
  clientState?: string;
  lifecycleNotificationUrl?: string;
  includeResourceData?: boolean;
  encryptionCertificate?: string;
  encryptionCertificateId?: string;
  latestSupportedTlsVersion?: string;
}

function isoDate(name: string, v: Date | string): string {
  const s = v instanceof Date ? v.toISOString() : v;
  if (typeof s !== 'string' || Number.isNaN(Date.parse(s))) throw invalidArgument(`${name} must be a Date or an ISO 8601 date-time`);
  return s;
}

export function createSubscriptionsApi(http: GraphRequester) {
  return rejectingApi({
    create: (body: CreateSubscriptionBody): Promise<Subscription> => {
      for (const k of ['changeType', 'notificationUrl', 'resource'] as const) {
        if (typeof body?.[k] !== 'string' || body[k].length === 0) throw invalidArgument(`subscription ${k} is required`);
      }
      isoDate('expirationDateTime', body.expirationDateTime);
      return entity<Subscription>(http, 'POST', '/subscriptions', body);
    },
    /** PATCH /subscriptions/{id} {expirationDateTime} (also reauthorizes after reauthorizationRequired). */
    renew: (id: string, expirationDateTime: Date | string): Promise<Subscription> =>
      entity<Subscription>(http, 'PATCH', `/subscriptions/${segment('subscriptionId', id)}`, { expirationDateTime: isoDate('expirationDateTime', expirationDateTime) }),
    /** POST /subscriptions/{id}/reauthorize (no body). */
    reauthorize: (id: string): Promise<ActionResult<undefined>> => action<undefined>(http, 'POST', `/subscriptions/${segment('subscriptionId', id)}/reauthorize`),
    delete: (id: string): Promise<ActionResult<undefined>> => action<undefined>(http, 'DELETE', `/subscriptions/${segment('subscriptionId', id)}`),
  });
}

export type SubscriptionsApi = ReturnType<typeof createSubscriptionsApi>;
