/** `mediabot emulator`: the embedded Graph emulator as a standalone process (src/emulator/cli.ts). */
export { runEmulatorCommand } from '../emulator/cli.js';
