/**
 * The call-control half of the emulator: creates and tracks calls, runs the simulated people in
 * them, executes operations and posts every state change to the call's callbackUri. One module
 * per job: state and lifecycle core (call-core.ts), notifications (call-notifications.ts), call
 * lifecycle (call-lifecycle.ts), simulated people (simulated-people.ts), operations
 * (call-operations.ts) and participant actions (call-roster.ts).
 */
import type { CallRecordStore } from './call-records.js';
import { CallCore } from './call-core.js';
import { CallExtras } from './call-extras.js';
import { CallLifecycle } from './call-lifecycle.js';
import { CallOperations } from './call-operations.js';
import { CallRoster } from './call-roster.js';
import type { EmulatorContext } from './context.js';
import type { MeetingStore } from './meetings.js';
import { SimulatedPeople } from './simulated-people.js';
import type { EmuCall, EmuOperation, EmuParticipant, Json, ResultInfo } from './state.js';

export type { CallScriptEntry } from './call-support.js';

export class CallEngine {
  readonly core: CallCore;
  readonly people: SimulatedPeople;
  /** create, hangUp, placeIncoming, answer, reject, redirect, keepAlive, transfer. */
  readonly lifecycle: CallLifecycle;
  /** Actions that run as operations (prompts, recording, tones, self mute, ...). */
  readonly operations: CallOperations;
  /** Participant actions (invite, remove, mute, mixer, hold music). */
  readonly roster: CallRoster;
  /** audioRoutingGroups, contentSharingSessions, device quality reports. */
  readonly extras: CallExtras;

  constructor(ctx: EmulatorContext, meetings: MeetingStore, records: CallRecordStore) {
    this.core = new CallCore(ctx, meetings, records);
    this.people = new SimulatedPeople(ctx, this.core);
    this.lifecycle = new CallLifecycle(ctx, this.core, this.people, meetings);
    this.operations = new CallOperations(ctx, this.core, this.people);
    this.roster = new CallRoster(ctx, this.core);
    this.extras = new CallExtras(this.core);
  }

  get calls(): Map<string, EmuCall> {
    return this.core.calls;
  }

  get ended(): Map<string, EmuCall> {
    return this.core.ended;
  }

  get scripts(): SimulatedPeople['scripts'] {
    return this.people.scripts;
  }

  get recordings(): CallOperations['recordings'] {
    return this.operations.recordings;
  }

  get(id: string): EmuCall {
    return this.core.get(id);
  }

  resource(call: EmuCall): Json {
    return this.core.resource(call);
  }

  participant(call: EmuCall, participantId: string): EmuParticipant {
    return this.core.participant(call, participantId);
  }

  participantJson(call: EmuCall, p: EmuParticipant, withContext: boolean): Json {
    return this.core.participantJson(call, p, withContext);
  }

  operation(call: EmuCall, opId: string): EmuOperation {
    return this.core.operation(call, opId);
  }

  /** Ends a call: terminated notification, media closed, call record filed. */
  terminate(call: EmuCall, reason: ResultInfo): void {
    this.core.terminate(call, reason);
  }

  close(): void {
    this.core.close();
  }
}
