/**
 * Call end reasons: Graph's resultInfo (code, subcode) on a terminated call,
 * turned into a plain explanation and a hint for the operator.
 */

export interface EndCodeExplanation {
  code: number | null;
  subcode: number | null;
  /** True when this exact subcode (or range) is in the table, false for a fallback. */
  known: boolean;
  explanation: string;
  hint: string;
}

interface Entry {
  codes: number[];
  explanation: string;
  hint: string;
}

const NORMAL = 'Nothing to fix: this is a normal end of call.';

/** Keyed by subcode; `codes` lists the status codes the subcode appears with. */
const BY_SUBCODE = new Map<number, Entry>([
  [4097, { codes: [200], explanation: 'The other party hung up.', hint: NORMAL }],
  [4521, { codes: [200], explanation: 'The other party hung up a one-to-one call.', hint: NORMAL }],
  [5000, { codes: [200], explanation: 'Someone in the meeting removed the bot.', hint: 'Ask the meeting organizer why the bot was removed, or rejoin it.' }],
  [5001, { codes: [200], explanation: 'The call or meeting is over.', hint: NORMAL }],
  [5002, { codes: [200], explanation: 'Everyone else left, so the call ended.', hint: NORMAL }],
  [5003, { codes: [200], explanation: 'The call or meeting is over.', hint: NORMAL }],
  [5007, { codes: [200], explanation: 'The person who started the group call left, which ended it.', hint: 'Use a scheduled meeting if the call must outlive its initiator.' }],
  [5010, { codes: [200], explanation: 'Only one participant was left, so the call ended.', hint: NORMAL }],
  [5012, { codes: [200], explanation: 'The incoming roster was empty, so the call ended.', hint: 'Check that the people the bot was meant to join were really in the call.' }],
  [5013, { codes: [200], explanation: 'Nobody else joined the group call, so it ended.', hint: 'Invite participants sooner, or join after someone is present.' }],
  [5014, { codes: [200], explanation: 'No host could be found for the group call, so it ended.', hint: 'Start the call from a user who can host it, or use a scheduled meeting.' }],
  [5020, { codes: [200], explanation: 'Only hidden participants (such as bots) were left, so the call ended.', hint: NORMAL }],
  [5030, { codes: [200], explanation: 'The breakout room reached the end of its time.', hint: NORMAL }],
  [5300, { codes: [200], explanation: 'Another participant removed this participant from the call.', hint: 'Ask who removed it; rejoin if that was a mistake.' }],
  [5855, { codes: [200], explanation: 'The participant waited in the lobby too long without being admitted and was removed.', hint: 'Have someone admit the bot, or configure the meeting to let it bypass the lobby.' }],
  [7000, { codes: [200, 500], explanation: 'The bot ended the call (or, with code 500, a transfer it asked for failed).', hint: 'If the bot did not mean to hang up, look for a hangUp or transfer in its logs.' }],
  [7015, { codes: [0, 200], explanation: 'The call was handed over: the transfer finished successfully.', hint: NORMAL }],
  [7700, { codes: [500], explanation: 'A consultative transfer failed and the call stayed with the bot.', hint: 'Check that the transfer target and replacesCallId are valid and the target answered.' }],
  [10550, { codes: [200], explanation: 'The bot ended the call.', hint: 'If the bot did not mean to hang up, look for a hangUp in its logs.' }],
  [18503, { codes: [200], explanation: 'The other party of a one-to-one call left.', hint: NORMAL }],
  [8537, { codes: [408], explanation: 'Graph removed the call because the bot sent no keep-alive in time.', hint: 'Make sure keepAlive runs at least every 15 minutes for every established call.' }],
  [1106, { codes: [408], explanation: 'Graph did not get an acknowledgement that the call was accepted in time.', hint: 'Answer incoming calls quickly and check that the callback URL is reachable from Graph.' }],
  [10057, { codes: [408], explanation: 'The callee endpoints sent no signaling before the timeout.', hint: 'Check that the callee is online and reachable.' }],
  [301005, { codes: [410], explanation: 'Media could not connect.', hint: 'Check the media path: ports, firewall and the media host between the bot and Microsoft.' }],
  [10037, { codes: [480], explanation: 'No endpoint of the callee could be found.', hint: 'Check the callee id and that the user is signed in somewhere.' }],
  [10076, { codes: [480], explanation: 'The callee could not be reached.', hint: 'Try again later, or check the callee id.' }],
  [10134, { codes: [480], explanation: 'The call could not be routed, so it was rejected.', hint: 'Check the target (user, phone number, voice routing) and the app\'s calling permissions.' }],
  [10199, { codes: [480], explanation: 'The user has private calling disabled, so the call was rejected.', hint: 'Enable private calling for the user in the Teams calling policy.' }],
  [1005, { codes: [500], explanation: 'Microsoft could not connect to the bot\'s media.', hint: 'Check media connectivity between the bot\'s media host and Microsoft (ports, firewall, certificate).' }],
  [7504, {
    codes: [403, 500],
    explanation: 'Graph refused the call: the tenant of the call or meeting has not granted this app its calling permissions ("insufficient enterprise tenant permissions").',
    hint: 'Have an admin of that tenant consent to the app (https://login.microsoftonline.com/<tenant>/adminconsent?client_id=<app id>) with Calls.JoinGroupCall.All (or the RSC Calls.JoinGroupCalls.Chat), then add the tenant to MEDIABOT_TENANTS, or set MEDIABOT_TENANTS=* to accept every tenant that consented.',
  }],
  [7505, { codes: [403], explanation: 'The token was issued for a different tenant than the call\'s ("request authorization tenant mismatch").', hint: 'Use a token for the call\'s tenant: mediabot takes it from the join URL (Tid) or the incoming call; check MEDIABOT_TENANTS lists that tenant.' }],
  [8506, { codes: [403], explanation: 'updateRecordingStatus was refused: the call is not a policy-based (compliance) recording call.', hint: 'Only a bot invited by a Teams compliance recording policy may set the recording status; assign the policy (with this app\'s application instance) to the recorded users.' }],
  [8508, { codes: [400], explanation: 'The operation was cancelled.', hint: 'Expected after cancelMediaProcessing; otherwise look for who cancelled it.' }],
  [8515, { codes: [200], explanation: 'Recording stopped at its maximum duration.', hint: 'Raise maxRecordDurationInSeconds if the recording is too short.' }],
]);

/** Subcodes 540000–569999 carry a PSTN (SIP) end reason. */
const PSTN_RANGE = { min: 540000, max: 569999 };

function fallback(code: number | null): Omit<EndCodeExplanation, 'code' | 'subcode' | 'known'> {
  if (code === null) return { explanation: 'The call ended without a reason code.', hint: 'See the call record for details.' };
  if (code === 0 || (code >= 200 && code < 300)) return { explanation: 'The call ended normally.', hint: NORMAL };
  if (code === 408) return { explanation: 'The call timed out.', hint: 'Check that callbacks reach the bot and keep-alives are sent.' };
  if (code >= 400 && code < 500) return { explanation: 'The call was refused or could not be reached.', hint: 'Check the call target and the app\'s permissions.' };
  if (code >= 500) return { explanation: 'The call ended because of a service or media error.', hint: 'Retry; if it repeats, check media connectivity and the Graph service health.' };
  return { explanation: 'The call ended.', hint: 'See the call record for details.' };
}

/** Explains a (code, subcode) pair; never throws. */
export function explainEndCode(code: number | null, subcode: number | null): EndCodeExplanation {
  if (subcode !== null) {
    const e = BY_SUBCODE.get(subcode);
    if (e) return { code, subcode, known: true, explanation: e.explanation, hint: e.hint };
    if (subcode >= PSTN_RANGE.min && subcode <= PSTN_RANGE.max) {
      return { code, subcode, known: true, explanation: 'The phone (PSTN) party ended the call.', hint: NORMAL };
    }
  }
  return { code, subcode, known: false, ...fallback(code) };
}

/** Explains a terminationReason string such as `AppTransferred`. */
export function explainTerminationReason(reason: string): { explanation: string; hint: string } | null {
  switch (reason.toLowerCase()) {
    case 'apptransferred':
      return { explanation: 'The bot transferred the call, so its leg ended.', hint: NORMAL };
    case 'neverestablished':
      return {
        explanation: 'The call never got established and no further notification came, so mediabot ended it.',
        hint: 'Check that Graph can reach the callback URL and that answering/joining succeeded.',
      };
    case 'keepalivenotfound':
      return {
        explanation: 'Graph no longer knows this call (keepAlive answered 404), so its end notification was missed.',
        hint: 'Check that Graph can reach the callback URL; missed notifications hide how calls ended.',
      };
    default:
      return null;
  }
}
