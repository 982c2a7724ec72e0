/**
 * The call state machine. Graph may deliver notifications late, twice or out of
 * order (establishing after established), so a transition is accepted only when
 * it moves the call forward, or sideways within the "in call" phase
 * (established ⇄ hold ⇄ transferring ⇄ transferAccepted). Nothing leaves `terminated`.
 * `inLobby` is the bot itself waiting in a meeting's lobby: a pre-answer state beside establishing.
 */

export type CallState =
  | 'incoming'
  | 'ringing'
  | 'establishing'
  | 'redirecting'
  | 'inLobby'
  | 'established'
  | 'hold'
  | 'transferring'
  | 'transferAccepted'
  | 'terminating'
  | 'terminated';

const PHASE: Record<CallState, number> = {
  incoming: 0,
  ringing: 1,
  establishing: 1,
  redirecting: 1,
  inLobby: 1,
  established: 2,
  hold: 2,
  transferring: 2,
  transferAccepted: 2,
  terminating: 3,
  terminated: 4,
};

export function isCallState(s: string): s is CallState {
  return Object.prototype.hasOwnProperty.call(PHASE, s);
}

export type TransitionResult = { accepted: true; next: CallState } | { accepted: false; why: 'same' | 'terminated' | 'backwards' | 'unknown-state' };

/** Decides whether `current` may move to `proposed`. */
export function transition(current: CallState | null, proposed: string): TransitionResult {
  if (!isCallState(proposed)) return { accepted: false, why: 'unknown-state' };
  if (current === null) return { accepted: true, next: proposed };
  if (current === 'terminated') return { accepted: false, why: 'terminated' };
  if (current === proposed) return { accepted: false, why: 'same' };
  const from = PHASE[current];
  const to = PHASE[proposed];
  if (to > from) return { accepted: true, next: proposed };
  // Sideways moves make sense in the pre-answer phase and the in-call phase only.
  if (to === from && (from === 1 || from === 2)) return { accepted: true, next: proposed };
  return { accepted: false, why: 'backwards' };
}

export function isActive(state: CallState): boolean {
  return PHASE[state] === 2;
}
