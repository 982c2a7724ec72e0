// Locates the libopus headers and static library that @discordjs/opus builds,
// so the native codec binding links the same libopus with no system package.
// `silk` and `celt` give libopus's internal header folders (the SILK decoder API).
const { existsSync, readdirSync } = require('node:fs');
const { join, dirname } = require('node:path');

const root = dirname(require.resolve('@discordjs/opus/package.json'));
const what = process.argv[2];
if (what === 'include') {
  process.stdout.write(join(root, 'deps', 'opus', 'include'));
} else if (what === 'silk' || what === 'celt') {
  // The SILK decoder's own API (native/speech_decoder.c) and the range decoder it reads from.
  process.stdout.write(join(root, 'deps', 'opus', what));
} else {
  const found = readdirSync(root)
    .filter((d) => d.startsWith('build'))
    .map((d) => join(root, d, 'Release', 'opus.a'))
    .find((p) => existsSync(p));
  if (!found) {
    process.stderr.write('libopus static library from @discordjs/opus not found\n');
    process.exit(1);
  }
  process.stdout.write(found);
}
