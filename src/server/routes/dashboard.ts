/**
 * GET / : the live dashboard, static files from src/server/public (plain ES modules, no build).
 * tsc does not copy assets, so the folder is found relative to this module both when running
 * from src (tsx) and from dist (dist/src/server/routes → ../../../../src/server/public).
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { MediabotError } from '../../errors.js';

export function publicDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '../public'), resolve(here, '../../../../src/server/public')];
  const found = candidates.find((d) => existsSync(resolve(d, 'index.html')));
  if (!found) throw new MediabotError('MEDIABOT_INTERNAL', `dashboard assets not found (looked in ${candidates.join(', ')})`);
  return found;
}

export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  await app.register(fastifyStatic, {
    root: publicDir(),
    prefix: '/',
    // Only the files present at start-up get routes, so unknown paths still get the JSON 404.
    wildcard: false,
    index: ['index.html'],
    cacheControl: true,
    maxAge: 0,
  });
};
