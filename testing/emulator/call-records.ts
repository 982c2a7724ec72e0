import { randomInt, randomUUID } from 'node:crypto';
import type { EmulatorContext } from './context.js';
import { badRequest } from './graph-error.js';
import type { EmuCall, EmuMeeting, EmuParticipant, Json } from './state.js';
import type { SubscriptionStore } from './subscriptions.js';

const CR = '#microsoft.graph.callRecords.';

interface StoredRecord {
  id: string;
  call: EmuCall;
  meeting: EmuMeeting | undefined;
  participants: EmuParticipant[];
  lastModified: Date;
}

function flatIdentity(p: EmuParticipant, tenantId: string): Json {
  const [kind, ident] = Object.entries(p.identity).find(([k]) => k !== '@odata.type') ?? ['user', {}];
  const i = typeof ident === 'object' && ident !== null ? (ident as Json) : {};
  const upn = kind === 'user' ? `${p.displayName.toLowerCase().replace(/[^a-z]+/g, '.')}@contoso.example` : null;
  return { [kind]: { id: i['id'] ?? null, displayName: i['displayName'] ?? p.displayName, tenantId: i['tenantId'] ?? tenantId, userPrincipalName: upn } };
}

/** Call records produced when emulated calls end, plus PSTN / direct-routing usage rows. */
export class CallRecordStore {
  private readonly records = new Map<string, StoredRecord>();

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly subscriptions: SubscriptionStore,
  ) {}

  /** Files the record of an ended call and tells callRecords subscribers. */
  add(call: EmuCall, meeting: EmuMeeting | undefined): string {
    const participants = [...call.departed, ...call.participants.values()];
    const rec: StoredRecord = { id: call.callChainId, call, meeting, participants, lastModified: new Date() };
    this.records.set(rec.id, rec);
    this.subscriptions.notify(
      (s) => s.target.kind === 'callRecords',
      () => ({
        resource: `communications/callRecords/${rec.id}`,
        resourceData: { '@odata.type': '#microsoft.graph.callrecord', '@odata.id': `communications/callRecords/${rec.id}`, id: rec.id },
      }),
      'created',
    );
    return rec.id;
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  get(id: string, expand: string): Json | undefined {
    const rec = this.records.get(id);
    if (!rec) return undefined;
    const withSessions = /\bsessions\b/.test(expand);
    const withSegments = /\bsegments\b/.test(expand);
    const out = this.summary(rec);
    out['@odata.context'] = `${this.ctx.graphUrl}/v1.0/$metadata#communications/callRecords${withSessions ? (withSegments ? '(sessions(segments()))' : '(sessions())') : ''}/$entity`;
    if (withSessions) out['sessions'] = this.sessions(rec, withSegments);
    if (/\bparticipants_v2\b/.test(expand)) out['participants_v2'] = rec.participants.map((p) => ({ id: idOf(p), identity: flatIdentity(p, this.ctx.tenantId) }));
    return out;
  }

  sessionsOf(id: string, withSegments: boolean): Json[] | undefined {
    const rec = this.records.get(id);
    return rec ? this.sessions(rec, withSegments) : undefined;
  }

  list(filter: string | undefined): Json[] {
    const clauses = parseStartFilter(filter);
    return [...this.records.values()]
      .filter((r) => clauses.every((c) => c(r.call.createdAt.getTime())))
      .map((r) => this.summary(r));
  }

  /** What PSTN and direct-routing usage rows share: the bot as user, times and direction. */
  private usage(r: StoredRecord): { start: Date; end: Date; outgoing: boolean; user: Json } {
    const start = r.call.establishedAt ?? r.call.createdAt;
    const end = r.call.endedAt ?? new Date();
    return {
      start,
      end,
      outgoing: r.call.direction === 'outgoing',
      user: {
        userId: this.ctx.clientId,
        userPrincipalName: `${this.ctx.botDisplayName.toLowerCase().replace(/[^a-z]+/g, '.')}@contoso.example`,
        userDisplayName: this.ctx.botDisplayName,
      },
    };
  }

  /** PSTN usage rows for calls with a phone leg in [from, to). */
  pstnRows(from: Date, to: Date): Json[] {
    return this.pstnCalls(from, to).map((r) => {
      const { start, end, outgoing, user } = this.usage(r);
      return {
        id: randomUUID(),
        callId: `${randomInt(1e9, 2e9)}_${randomInt(1e8, 2e8)}@127.0.0.1`,
        ...user,
        startDateTime: start.toISOString(),
        endDateTime: end.toISOString(),
        duration: Math.round((end.getTime() - start.getTime()) / 1000),
        charge: 0,
        callType: outgoing ? 'user_out' : 'user_in',
        currency: 'USD',
        calleeNumber: outgoing ? r.call.pstnNumber : '+15550100200',
        usageCountryCode: 'US',
        tenantCountryCode: 'US',
        connectionCharge: 0,
        callerNumber: outgoing ? '+15550100200' : r.call.pstnNumber,
        destinationContext: null,
        destinationName: 'United States',
        conferenceId: null,
        licenseCapability: 'MCOPSTNU',
        inventoryType: 'Subscriber',
        operator: 'Microsoft',
        callDurationSource: 'microsoft',
      };
    });
  }

  directRoutingRows(from: Date, to: Date): Json[] {
    return this.pstnCalls(from, to).map((r) => {
      const { start, end, outgoing, user } = this.usage(r);
      return {
        id: randomUUID(),
        correlationId: r.call.callChainId,
        ...user,
        startDateTime: start.toISOString(),
        inviteDateTime: r.call.createdAt.toISOString(),
        failureDateTime: '0001-01-01T00:00:00Z',
        endDateTime: end.toISOString(),
        duration: Math.round((end.getTime() - start.getTime()) / 1000),
        callType: outgoing ? 'ByotOut' : 'ByotIn',
        successfulCall: r.call.establishedAt !== undefined,
        callerNumber: outgoing ? '+15550100200' : r.call.pstnNumber,
        calleeNumber: outgoing ? r.call.pstnNumber : '+15550100200',
        mediaPathLocation: 'USWE',
        signalingLocation: 'USWE',
        finalSipCode: 0,
        callEndSubReason: r.call.resultInfo?.subcode ?? 0,
        finalSipCodePhrase: 'BYE',
        trunkFullyQualifiedDomainName: 'sbc.emulator.example',
        mediaBypassEnabled: false,
      };
    });
  }

  private pstnCalls(from: Date, to: Date): StoredRecord[] {
    return [...this.records.values()].filter((r) => r.call.pstnNumber !== undefined && r.call.createdAt >= from && r.call.createdAt < to);
  }

  private organizer(rec: StoredRecord): { id: string; identity: Json } {
    const slots: Json = { user: null, application: null, phone: null, acsUser: null, spoolUser: null, guest: null, encrypted: null, onPremises: null, applicationInstance: null };
    if (rec.meeting) {
      return { id: rec.meeting.organizerId, identity: { ...slots, user: { id: rec.meeting.organizerId, displayName: rec.meeting.organizerName, tenantId: this.ctx.tenantId } } };
    }
    return { id: this.ctx.clientId, identity: { ...slots, application: { id: this.ctx.clientId, displayName: this.ctx.botDisplayName, tenantId: this.ctx.tenantId } } };
  }

  private summary(rec: StoredRecord): Json {
    const org = this.organizer(rec);
    const base = `${this.ctx.graphUrl}/v1.0/$metadata#communications/callRecords('${rec.id}')`;
    return {
      '@odata.context': `${this.ctx.graphUrl}/v1.0/$metadata#communications/callRecords/$entity`,
      id: rec.id,
      version: 1,
      type: rec.call.kind === 'peerToPeer' ? 'peerToPeer' : 'groupCall',
      modalities: ['audio'],
      lastModifiedDateTime: rec.lastModified.toISOString(),
      startDateTime: (rec.call.establishedAt ?? rec.call.createdAt).toISOString(),
      endDateTime: (rec.call.endedAt ?? rec.lastModified).toISOString(),
      joinWebUrl: rec.meeting?.joinWebUrl ?? null,
      organizer: Object.fromEntries(Object.entries(org.identity).filter(([, v]) => v !== null)),
      participants: rec.participants.map((p) => flatIdentity(p, this.ctx.tenantId)),
      'organizer_v2@odata.context': `${base}/organizer_v2/$entity`,
      organizer_v2: org,
      'participants_v2@odata.context': `${base}/participants_v2/$entity`,
    };
  }

  private endpoint(p: EmuParticipant): Json {
    const ident = Object.values(p.identity).find((v) => typeof v === 'object' && v !== null) as Json | undefined;
    return {
      '@odata.type': `${CR}participantEndpoint`,
      name: p.kind === 'bot' ? 'mediabot' : `emulator-${p.sourceId}`,
      userAgent: {
        '@odata.type': `${CR}clientUserAgent`,
        headerValue: p.kind === 'bot' ? 'mediabot-emulator/1.0 (bot)' : 'mediabot-emulator/1.0 (simulated participant)',
        platform: p.kind === 'bot' ? 'unknown' : 'web',
        productFamily: p.kind === 'bot' ? 'unknown' : 'teams',
        applicationVersion: null,
        azureADAppId: p.kind === 'bot' ? this.ctx.clientId : null,
        communicationServiceId: null,
      },
      // Deprecated in the schema but still sent by Graph (older examples show only this).
      identity: { '@odata.type': '#microsoft.graph.identitySet', ...flatIdentity(p, this.ctx.tenantId) },
      associatedIdentity: {
        id: ident?.['id'] ?? p.id,
        displayName: ident?.['displayName'] ?? p.displayName,
        tenantId: ident?.['tenantId'] ?? this.ctx.tenantId,
        userPrincipalName: `${p.displayName.toLowerCase().replace(/[^a-z]+/g, '.')}@contoso.example`,
      },
      feedback: null,
    };
  }

  /** One session per remote participant: the bot (caller) with that person (callee), one segment each. */
  private sessions(rec: StoredRecord, withSegments: boolean): Json[] {
    const bot = rec.participants.find((p) => p.kind === 'bot');
    const remotes = rec.participants.filter((p) => p.kind === 'remote');
    const callEnd = rec.call.endedAt ?? rec.lastModified;
    return remotes.map((p) => {
      const start = p.joinedAt.toISOString();
      const end = (p.leftAt ?? callEnd).toISOString();
      // People join a meeting or group call (they are the callers); in a bot-placed P2P call the bot calls.
      const botEnd = bot ? this.endpoint(bot) : this.endpoint(p);
      const personEnd = this.endpoint(p);
      const botCalls = rec.call.kind === 'peerToPeer' && rec.call.direction === 'outgoing';
      const caller = botCalls ? botEnd : personEnd;
      const callee = botCalls ? personEnd : botEnd;
      const session: Json = { id: randomUUID(), modalities: ['audio'], startDateTime: start, endDateTime: end, isTest: false, caller, callee, failureInfo: null };
      if (withSegments) {
        session['segments@odata.context'] = `${this.ctx.graphUrl}/v1.0/$metadata#communications/callRecords('${rec.id}')/sessions('${String(session['id'])}')/segments`;
        session['segments'] = [
          {
            id: randomUUID(),
            startDateTime: start,
            endDateTime: end,
            caller,
            callee,
            failureInfo: null,
            media: [
              {
                label: 'main-audio',
                callerNetwork: network(40_000 + (Number(p.sourceId) % 1000) * 2),
                calleeNetwork: network(41_000 + (Number(p.sourceId) % 1000) * 2),
                callerDevice: device(),
                calleeDevice: device(),
                // packetUtilization of the person's direction: the RTP packets the emulator sent for them.
                streams: [stream('callerToCallee', botCalls ? undefined : p.sentPackets), stream('calleeToCaller', botCalls ? p.sentPackets : undefined)],
              },
            ],
          },
        ];
      }
      return session;
    });
  }
}

function idOf(p: EmuParticipant): string {
  const ident = Object.values(p.identity).find((v) => typeof v === 'object' && v !== null) as Json | undefined;
  return typeof ident?.['id'] === 'string' ? ident['id'] : p.id;
}

function network(port: number): Json {
  return {
    ipAddress: '127.0.0.1',
    subnet: '127.0.0.0',
    linkSpeed: 10_000_000_000,
    connectionType: 'wired',
    port,
    reflexiveIPAddress: '127.0.0.1',
    relayIPAddress: '127.0.0.1',
    relayPort: 3478,
    macAddress: '00-00-00-00-00-00',
    dnsSuffix: null,
    sentQualityEventRatio: 0,
    receivedQualityEventRatio: 0,
    delayEventRatio: 0,
    bandwidthLowEventRatio: 0,
    networkTransportProtocol: 'udp',
    wifiBand: 'unknown',
  };
}

function device(): Json {
  return {
    captureDeviceName: 'Emulated input device',
    captureDeviceDriver: 'mediabot-emulator: 1.0',
    renderDeviceName: 'Emulated output device',
    renderDeviceDriver: 'mediabot-emulator: 1.0',
    receivedSignalLevel: -10,
    receivedNoiseLevel: -80,
    initialSignalLevelRootMeanSquare: 100,
    renderZeroVolumeEventRatio: 0,
    renderMuteEventRatio: 0,
    micGlitchRate: 0,
    speakerGlitchRate: 0,
  };
}

/** Stream metrics for the loopback network: no loss, no concealment, tiny jitter. */
function stream(direction: string, packets: number | undefined): Json {
  return {
    streamId: String(randomInt(1e9, 2e9)),
    streamDirection: direction,
    averageAudioDegradation: 0,
    averageJitter: 'PT0.002S',
    maxJitter: 'PT0.005S',
    averagePacketLossRate: 0,
    maxPacketLossRate: 0,
    averageRatioOfConcealedSamples: 0,
    maxRatioOfConcealedSamples: 0,
    averageRoundTripTime: 'PT0.001S',
    maxRoundTripTime: 'PT0.002S',
    packetUtilization: packets ?? 0,
    averageBandwidthEstimate: 10_000_000,
    wasMediaBypassed: false,
    averageAudioNetworkJitter: 'PT0.002S',
    maxAudioNetworkJitter: 'PT0.005S',
    audioCodec: 'unknown',
  };
}

/** `startDateTime ge X and startDateTime lt Y` into predicates on epoch ms; throws 400 on anything else. */
function parseStartFilter(filter: string | undefined): ((t: number) => boolean)[] {
  if (filter === undefined || filter.trim() === '') return [];
  return filter.split(/\s+and\s+/i).map((clause) => {
    const m = /^\s*startDateTime\s+(ge|gt|le|lt|eq)\s+'?([0-9T:.+\-Z]+)'?\s*$/i.exec(clause);
    if (!m) throw badRequest(`Unsupported $filter clause '${clause}'.`, 'BadRequest');
    const t = new Date(m[2]!).getTime();
    if (Number.isNaN(t)) throw badRequest(`Invalid date in $filter: ${m[2]!}`);
    switch (m[1]!.toLowerCase()) {
      case 'ge':
        return (x: number) => x >= t;
      case 'gt':
        return (x: number) => x > t;
      case 'le':
        return (x: number) => x <= t;
      case 'lt':
        return (x: number) => x < t;
      default:
        return (x: number) => x === t;
    }
  });
}
