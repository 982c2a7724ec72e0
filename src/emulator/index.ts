export { createEmulator, type Emulator, type EmulatorOptions, type EmulatorStats } from './server.js';
export { encodeMediaBlob, parseMediaBlob, type MediaEndpoint } from './media-session.js';
export { DEFAULT_ROLES } from './identity.js';
export { DEFAULT_SCRIPT, type SpeakerScript } from './speech.js';
export type { FaultRule } from './faults.js';
export type { CreateMeetingInput } from './meetings.js';
export type { EmulatorTiming } from './context.js';
