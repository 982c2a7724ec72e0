/**
 * Notifications of the emulated calls: every change of a call, its roster and its operations is
 * posted to the call's callbackUri (queued per call, in order) with a signed callback token.
 */
import { callNotificationData, commsNotification, commsNotifications, operationNotificationData, participantResource } from './builders.js';
import type { EmulatorContext } from './context.js';
import type { EmuCall, EmuMeeting, EmuOperation, EmuParticipant } from './state.js';

/** Posts a call's state, roster and operation changes to its callbackUri. */
export class CallNotifications {
  constructor(
    private readonly ctx: EmulatorContext,
    private readonly meetingOf: (call: EmuCall) => EmuMeeting | undefined,
  ) {}

  private post(call: EmuCall, changeType: 'created' | 'updated' | 'deleted', resourceUrl: string, resourceData: unknown): void {
    call.etag += 1;
    call.notificationsQueued += 1;
    const body = commsNotifications([commsNotification(changeType, resourceUrl, resourceData, call.callbackUri)]);
    void this.ctx.notifier.enqueue(`call:${call.id}`, {
      url: call.callbackUri,
      body,
      authorization: async () => `Bearer ${await this.ctx.signer.sign(this.ctx.clientId, call.tenantId)}`,
    });
  }

  /** The call resource changed. */
  call(call: EmuCall, changeType: 'created' | 'updated' | 'deleted' = 'updated'): void {
    this.post(call, changeType, `/communications/calls/${call.id}`, callNotificationData(call, this.meetingOf(call), this.ctx.graphUrl));
  }

  /** The participants changed: the whole roster. */
  roster(call: EmuCall): void {
    const data = [...call.participants.values()].map((p) => participantResource(p, call, this.ctx.graphUrl, false));
    this.post(call, 'updated', `/communications/calls/${call.id}/participants`, data);
  }

  /** A content sharing session started (created, an array of sessions) or ended (deleted, no data). */
  contentSharing(call: EmuCall, changeType: 'created' | 'updated' | 'deleted', resourceUrl: string, data: unknown): void {
    this.post(call, changeType, resourceUrl, data);
  }

  /** A participant left: its resource is deleted (the roster update that follows lists who remains). */
  participantLeft(call: EmuCall, p: EmuParticipant): void {
    this.post(call, 'deleted', `/communications/calls/${call.id}/participants/${p.id}`, participantResource(p, call, this.ctx.graphUrl, false));
  }

  /** An operation finished. */
  operation(call: EmuCall, op: EmuOperation): void {
    this.post(call, 'deleted', `/communications/calls/${call.id}/operations/${op.id}`, operationNotificationData(call, op, this.ctx.graphUrl));
  }
}
