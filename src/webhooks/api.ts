/**
 * `Mediabot.webhooks`: the outbox in code, as /v1/webhooks does it over HTTP, plus `publish` for
 * events other parts send (`data.deleted`) and `whenIdle` (the demo waits for its deliveries).
 */
import { MediabotError } from '../errors.js';
import type { DeliveryFilter } from '../store/webhook-outbox.js';
import type { WebhookDelivery, WebhookDispatcher } from './dispatcher.js';
import type { WebhookEventType, WebhookPublisher } from './publisher.js';

export type { WebhookDelivery } from './dispatcher.js';
export type { WebhookEventType } from './publisher.js';

export interface MediabotWebhooks {
  /** False without MEDIABOT_WEBHOOK_SECRET: nothing is sent, per-call webhook URLs are refused. */
  readonly enabled: boolean;
  /** Newest first; filter by call and status, page with `before` (a row's seq). */
  deliveries(filter?: DeliveryFilter): WebhookDelivery[];
  /** MEDIABOT_NOT_FOUND for an unknown id. */
  delivery(id: string): WebhookDelivery;
  /** Sends a delivered or failed message again with its webhook-id (MEDIABOT_WEBHOOK_PENDING while it is pending). */
  replay(id: string): WebhookDelivery;
  /** Messages not yet delivered nor given up (of one call when given). */
  pending(callId?: string): number;
  /** Resolves with the number still pending (of one call when given) once none is, or after `timeoutMs`. */
  whenIdle(timeoutMs: number, callId?: string): Promise<number>;
  /** Publishes an event of a call (or of none: null) to its targets, with the call's metadata; returns the messages written. */
  publish(callId: string | null, type: WebhookEventType, data: Record<string, unknown>): number;
}

export function webhooksApi(dispatcher: WebhookDispatcher | null, publisher: WebhookPublisher | null): MediabotWebhooks {
  if (dispatcher === null || publisher === null) {
    return {
      enabled: false,
      deliveries: () => [],
      delivery: (id) => {
        throw new MediabotError('MEDIABOT_NOT_FOUND', `no webhook delivery with id ${id}`);
      },
      replay: (id) => {
        throw new MediabotError('MEDIABOT_NOT_FOUND', `no webhook delivery with id ${id}`);
      },
      pending: () => 0,
      whenIdle: () => Promise.resolve(0),
      publish: () => 0,
    };
  }
  return {
    enabled: true,
    deliveries: (filter) => dispatcher.deliveries(filter),
    delivery: (id) => dispatcher.delivery(id),
    replay: (id) => dispatcher.replay(id),
    pending: (callId) => dispatcher.pending(callId),
    whenIdle: (timeoutMs, callId) => dispatcher.whenIdle(timeoutMs, callId),
    publish: (callId, type, data) => publisher.publish(callId, type, data),
  };
}
