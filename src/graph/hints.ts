/**
 * What to do about a Graph error, for the errors whose cause is a setup choice rather than a bug:
 * an app-only token used with /me, presence subscriptions with application permissions, a missing
 * media permission, recording status outside compliance recording, a tenant that has not consented.
 * The hint is appended to the GraphError message and kept in `hint`.
 */
export interface HintInput {
  method: string;
  /** URL path, e.g. /v1.0/communications/calls/{id}/subscribeToTone. */
  path: string;
  status: number;
  graphCode: string | undefined;
  message: string | undefined;
}

interface HintRule {
  matches: (e: HintInput) => boolean;
  hint: string;
}

const has = (e: HintInput, text: string): boolean => (e.message ?? '').toLowerCase().includes(text.toLowerCase());

const RULES: HintRule[] = [
  {
    matches: (e) => /\/me(\/|$)/i.test(e.path) && e.status === 400 && has(e, 'delegated'),
    hint: 'an application (app-only) token has no signed-in user, so /me is refused: pass the user id (presence.get(userId), meetings.*({ userId }))',
  },
  {
    matches: (e) => /\/subscriptions$/i.test(e.path) && e.status === 403 && has(e, 'presence'),
    hint: 'presence change notifications need a delegated token (Presence.Read or Presence.Read.All delegated); with application permissions poll communications/getPresencesByUserId instead',
  },
  {
    matches: (e) => /\/subscribeToTone$/i.test(e.path) && e.status === 403,
    hint: 'subscribeToTone needs the Calls.AccessMedia.All application permission: add it to the app registration and grant admin consent again',
  },
  {
    matches: (e) => e.graphCode === '8506' || (/\/updateRecordingStatus$/i.test(e.path) && has(e, 'compliance recording')),
    hint: 'updateRecordingStatus works only in policy-based (compliance) recording calls: the bot must be the application instance of a Teams compliance recording policy assigned to the recorded users, and the call must be the policy\'s invite',
  },
  {
    matches: (e) => e.graphCode === '7504' || has(e, 'insufficient enterprise tenant permissions'),
    hint: 'the call\'s tenant has not granted this app its calling permissions: have an admin of that tenant consent (https://login.microsoftonline.com/{tenant}/adminconsent?client_id={app id}), then add the tenant to MEDIABOT_TENANTS (or set MEDIABOT_TENANTS=*)',
  },
  {
    matches: (e) => e.graphCode === '7505' || has(e, 'tenant mismatch'),
    hint: 'the token is for a different tenant than the call: use the call\'s tenant (graph.forTenant(tenantId)) for every request about it',
  },
];

/** A hint for this failure, or undefined when there is nothing specific to say. */
export function graphErrorHint(e: HintInput): string | undefined {
  return RULES.find((r) => r.matches(e))?.hint;
}
