// Builds the optional native codec binding (native/). Never fails the install:
// without it the media core falls back to @discordjs/opus (no in-band FEC).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

// npm sets npm_config_node_gyp in lifecycle scripts; otherwise use the node-gyp bundled with npm.
const candidates = [
  process.env.npm_config_node_gyp,
  process.env.npm_execpath ? join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js') : undefined,
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter((p) => p !== undefined && existsSync(p));
const gyp = candidates[0];
if (!gyp) {
  console.warn('mediabot: node-gyp not found; skipping the native codec (fallback: @discordjs/opus without FEC)');
  process.exit(0);
}
// Build against the headers of the running Node (no header download: the machine may be offline).
const prefix = join(dirname(process.execPath), '..');
const args = [gyp, 'rebuild', '--directory=native'];
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
if (r.status !== 0) {
  console.warn('mediabot: the native codec did not build; using @discordjs/opus (no in-band FEC decode)');
} else {
  console.log('mediabot: native codec built (native/build/Release/mediabot_native.node)');
}
