/** The WebSocket limits live in src/util/ws-limits.ts (the ingress plugins use them too). */
export * from '../util/ws-limits.js';
