/**
 * One implementation of the media sidecar's side of docs/bridge-protocol.md, for the conformance
 * simulator (`mediabot bridge-sim`, bridge-peer.ts) and the emulator's sidecar (emulator/bridge-sidecar.ts).
 */
export { SidecarConnection, type SidecarConnectionOptions } from './connection.js';
export { FRAME, frameRms, SidecarCall, to16k, type SidecarCallOptions, type SidecarSpeaker, type SidecarTick } from './call.js';
