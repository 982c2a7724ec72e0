/**
 * The Kubernetes manifests (deploy/kubernetes) against the code they deploy: every file parses,
 * kustomization.yaml lists every resource file, the probes hit real routes of the real server, the
 * ports and MEDIABOT_* names are the ones mediabot uses, the pod environment passes the real config
 * loader, the grace period covers the drain timeout, and every container runs non-root on a
 * read-only root filesystem.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS, loadConfig } from '../../../src/config/config.js';
import { DEFAULT_DRAIN_TIMEOUT_S } from '../../../src/config/deployment.js';
import { silentLogger } from '../../../src/logger.js';
import { buildServer } from '../../../src/server/app.js';
import { Readiness } from '../../../src/server/readiness.js';

/**
 * Settings of the scale-out work that the manifests already use but src/config does not read yet.
 * Remove each name from here once the config reads it.
 */
/** Settings the manifests use that src/config does not read yet (remove each once it does). */
const PLANNED_ENV: string[] = [];
/** What the pod needs after the drain: hang up, write the last recordings, close. */
const MIN_GRACE_MARGIN_S = 30;

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const DIR = join(REPO, 'deploy', 'kubernetes');

// ---------------------------------------------------------------- loading
// Kubernetes objects are walked loosely here; the assertions are the types.
type Obj = Record<string, any>;

interface Doc {
  file: string;
  obj: Obj;
}

function loadDocs(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(join(DIR, file), 'utf8'));
  const list = Array.isArray(docs) ? docs : [docs];
  const out: Obj[] = [];
  for (const d of list) {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    const v = d.toJS() as Obj | null;
    if (v !== null) out.push(v);
  }
  return out;
}

const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
const kustomization = loadDocs('kustomization.yaml')[0]!;
const examples = files.filter((f) => f.endsWith('.example.yaml'));
const resourceFiles = files.filter((f) => f !== 'kustomization.yaml' && !examples.includes(f));
const docs: Doc[] = resourceFiles.flatMap((file) => loadDocs(file).map((obj) => ({ file, obj })));
const exampleDocs: Doc[] = examples.flatMap((file) => loadDocs(file).map((obj) => ({ file, obj })));

function one(kind: string, name: string, from: Doc[] = docs): Obj {
  const found = from.filter((d) => d.obj['kind'] === kind && d.obj['metadata']?.['name'] === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!.obj;
}
const ofKind = (kind: string): Obj[] => docs.filter((d) => d.obj['kind'] === kind).map((d) => d.obj);

const worker = one('StatefulSet', 'mediabot');
const podSpec: Obj = worker['spec']['template']['spec'];
const container: Obj = podSpec['containers'].find((c: Obj) => c['name'] === 'mediabot');
const configMap = one('ConfigMap', 'mediabot-config');
const secretExample = one('Secret', 'mediabot-secrets', exampleDocs);

/** The container's environment as the kubelet builds it for pod `podName` (envFrom, then env, $(VAR) expanded). */
function podEnv(podName: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const src of container['envFrom'] ?? []) {
    if (src['configMapRef']) Object.assign(env, one('ConfigMap', src['configMapRef']['name'])['data']);
    if (src['secretRef']) Object.assign(env, one('Secret', src['secretRef']['name'], exampleDocs)['stringData']);
  }
  for (const e of container['env'] ?? []) {
    if (e['value'] !== undefined) env[e['name']] = String(e['value']).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n: string) => env[n] ?? m);
    else if (e['valueFrom']?.['fieldRef']?.['fieldPath'] === 'metadata.name') env[e['name']] = podName;
    else if (e['valueFrom']?.['fieldRef']?.['fieldPath'] === 'metadata.namespace') env[e['name']] = 'mediabot-ns';
    else throw new Error(`env ${e['name']}: unhandled source`);
  }
  return env;
}

/** Every MEDIABOT_* variable src/config reads from the environment. */
function configEnvNames(): Set<string> {
  const dir = join(REPO, 'src', 'config');
  const names = new Set<string>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
    const src = readFileSync(join(dir, f), 'utf8');
    for (const m of src.matchAll(/(?:get\(|env\[|env\.)\s*['"]?(MEDIABOT_[A-Z0-9_]+)/g)) names.add(m[1]!);
  }
  return names;
}

/** kubectl renders kustomizations offline (`kubectl kustomize`); optional. */
const kubectl = spawnSync('sh', ['-c', 'command -v kubectl'], { stdio: 'ignore' }).status === 0;
if (!kubectl) console.warn('deploy manifests: kubectl is not installed, so the kustomize render check is skipped');

const workloads = [...ofKind('StatefulSet'), ...ofKind('Deployment')];
const replicas: number = worker['spec']['replicas'];
const podNames = Array.from({ length: replicas }, (_, i) => `mediabot-${i}`);
const env0 = podEnv('mediabot-0');
const httpPort: number = container['ports'].find((p: Obj) => p['name'] === 'http')['containerPort'];

// ---------------------------------------------------------------- tests
describe('deploy/kubernetes manifests', () => {
  it('every file parses, and every object has an apiVersion, a kind and a name', () => {
    expect(resourceFiles.length).toBeGreaterThanOrEqual(6);
    for (const { file, obj } of [...docs, ...exampleDocs]) {
      expect(typeof obj['apiVersion'], file).toBe('string');
      expect(typeof obj['kind'], file).toBe('string');
      expect(obj['metadata']?.['name'], `${file} ${obj['kind']}`).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
    expect(kustomization['kind']).toBe('Kustomization');
  });

  it('kustomization.yaml lists every resource file (and no example)', () => {
    expect([...kustomization['resources']].sort()).toEqual(resourceFiles);
    expect(kustomization['images'].map((i: Obj) => i['name'])).toContain(container['image']);
  });

  it.skipIf(!kubectl)('kustomize renders the base to the same objects, labelled part-of mediabot', () => {
    const r = spawnSync('kubectl', ['kustomize', DIR], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const rendered = r.stdout.split(/^---$/m).map((d) => parseYaml(d) as Obj).filter((d) => d !== null);
    const key = (o: Obj): string => `${o['kind']}/${o['metadata']['name']}`;
    expect(rendered.map(key).sort()).toEqual(docs.map((d) => key(d.obj)).sort());
    for (const o of rendered) expect(o['metadata']['labels']?.['app.kubernetes.io/part-of'], key(o)).toBe('mediabot');
    const image = rendered.find((o) => key(o) === 'StatefulSet/mediabot')!['spec']['template']['spec']['containers'][0]['image'];
    const entry = kustomization['images'].find((i: Obj) => i['name'] === container['image']);
    expect(image).toBe(`${entry['newName']}:${entry['newTag']}`);
  });

  it('probes use /healthz (liveness, start-up) and /readyz (readiness) on the named http port', () => {
    expect(container['livenessProbe']['httpGet']).toEqual({ path: '/healthz', port: 'http' });
    expect(container['startupProbe']['httpGet']).toEqual({ path: '/healthz', port: 'http' });
    expect(container['readinessProbe']['httpGet']).toEqual({ path: '/readyz', port: 'http' });
  });

  it('the probe paths are routes of the real server, and /readyz fails while draining', async () => {
    const readiness = new Readiness();
    const app = await buildServer({ logger: silentLogger, readiness });
    try {
      const paths = [container['livenessProbe'], container['startupProbe'], container['readinessProbe']].map((p: Obj) => p['httpGet']['path'] as string);
      for (const path of paths) expect((await app.inject({ method: 'GET', url: path })).statusCode, path).toBe(200);
      readiness.startDraining();
      expect((await app.inject({ method: 'GET', url: container['readinessProbe']['httpGet']['path'] })).statusCode).toBe(503);
      expect((await app.inject({ method: 'GET', url: container['livenessProbe']['httpGet']['path'] })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('the container port is MEDIABOT_PORT (or its default), and everything that names the port agrees', () => {
    const configured = env0['MEDIABOT_PORT'] === undefined ? CONFIG_DEFAULTS.port : Number(env0['MEDIABOT_PORT']);
    expect(httpPort).toBe(configured);
    expect(new URL(env0['MEDIABOT_INTERNAL_URL']!).port).toBe(String(httpPort));
    expect(worker['spec']['template']['metadata']['annotations']['prometheus.io/port']).toBe(String(httpPort));
    for (const svc of ofKind('Service').filter((s) => !String(s['metadata']['name']).includes('redis'))) {
      for (const p of svc['spec']['ports']) expect(p['targetPort'], svc['metadata']['name']).toBe('http');
    }
  });

  it('every MEDIABOT_* name is one mediabot reads (src/config, or planned)', () => {
    const known = new Set([...configEnvNames(), ...PLANNED_ENV]);
    expect(known.has('MEDIABOT_PORT')).toBe(true);
    const used = [...Object.keys(configMap['data']), ...Object.keys(secretExample['stringData']), ...container['env'].map((e: Obj) => e['name'] as string)].filter((n) => n.startsWith('MEDIABOT_'));
    expect(used.length).toBeGreaterThan(10);
    for (const name of used) expect(known.has(name), `${name} is not read by src/config`).toBe(true);
  });

  it("the pod's environment passes mediabot's config loader", () => {
    for (const pod of podNames) {
      const cfg = loadConfig(podEnv(pod));
      expect(cfg.host).toBe('0.0.0.0');
      expect(cfg.port).toBe(httpPort);
      expect(cfg.useEmulator).toBe(false);
      expect(cfg.apiToken).toBeDefined();
    }
  });

  it('no Service link injects MEDIABOT_* variables (a Service named mediabot would set MEDIABOT_PORT=tcp://…)', () => {
    for (const w of workloads) expect(w['spec']['template']['spec']['enableServiceLinks'], w['metadata']['name']).toBe(false);
  });

  it(`terminationGracePeriodSeconds covers the drain timeout plus at least ${MIN_GRACE_MARGIN_S} s`, () => {
    const drain = env0['MEDIABOT_DRAIN_TIMEOUT_S'] === undefined ? DEFAULT_DRAIN_TIMEOUT_S : Number(env0['MEDIABOT_DRAIN_TIMEOUT_S']);
    expect(Number.isInteger(drain) && drain > 0).toBe(true);
    expect(podSpec['terminationGracePeriodSeconds']).toBeGreaterThanOrEqual(drain + MIN_GRACE_MARGIN_S);
  });

  it('every pod runs non-root, and every container on a read-only root filesystem with no capabilities', () => {
    expect(workloads.length).toBeGreaterThanOrEqual(1);
    for (const w of workloads) {
      const spec: Obj = w['spec']['template']['spec'];
      const name = w['metadata']['name'];
      expect(spec['securityContext']['runAsNonRoot'], name).toBe(true);
      expect(spec['securityContext']['runAsUser'], name).toBeGreaterThan(0);
      expect(spec['automountServiceAccountToken'], name).toBe(false);
      for (const c of spec['containers']) {
        expect(c['securityContext']['readOnlyRootFilesystem'], `${name}/${c['name']}`).toBe(true);
        expect(c['securityContext']['allowPrivilegeEscalation'], `${name}/${c['name']}`).toBe(false);
        expect(c['securityContext']['capabilities']['drop'], `${name}/${c['name']}`).toEqual(['ALL']);
        if (c['securityContext']['runAsUser'] !== undefined) expect(c['securityContext']['runAsUser']).toBeGreaterThan(0);
      }
    }
    // The image's user (Dockerfile: USER 1000:1000) is the pod's.
    expect(podSpec['securityContext']['runAsUser']).toBe(1000);
    expect(readFileSync(join(REPO, 'Dockerfile'), 'utf8')).toMatch(/^USER 1000:1000$/m);
  });

  it('MEDIABOT_DATA_DIR is the data volume claim, and /tmp is writable', () => {
    const mounts: Obj[] = container['volumeMounts'];
    const data = mounts.find((m) => m['mountPath'] === env0['MEDIABOT_DATA_DIR']);
    expect(data, `nothing mounted at ${env0['MEDIABOT_DATA_DIR']}`).toBeDefined();
    expect(worker['spec']['volumeClaimTemplates'].map((v: Obj) => v['metadata']['name'])).toContain(data!['name']);
    const tmp = mounts.find((m) => m['mountPath'] === '/tmp');
    expect(podSpec['volumes'].find((v: Obj) => v['name'] === tmp?.['name'])?.['emptyDir']).toBeDefined();
  });

  it('resources are Guaranteed and MEDIABOT_MEDIA_THREADS matches the CPUs given', () => {
    const { requests, limits } = container['resources'];
    expect(requests).toEqual(limits);
    expect(Number(env0['MEDIABOT_MEDIA_THREADS'])).toBe(Number(requests['cpu']));
  });

  it('the headless Service is the StatefulSet\'s, keeps draining pods listed, and MEDIABOT_INTERNAL_URL uses it', () => {
    const headless = one('Service', worker['spec']['serviceName']);
    expect(headless['spec']['clusterIP']).toBe('None');
    expect(headless['spec']['publishNotReadyAddresses']).toBe(true);
    expect(new URL(env0['MEDIABOT_INTERNAL_URL']!).hostname).toBe(`mediabot-0.${worker['spec']['serviceName']}.mediabot-ns.svc.cluster.local`);
  });

  it('selectors of the Services and the PodDisruptionBudget match the worker pods', () => {
    const labels: Obj = worker['spec']['template']['metadata']['labels'];
    const matches = (sel: Obj): boolean => Object.entries(sel).every(([k, v]) => labels[k] === v);
    expect(matches(worker['spec']['selector']['matchLabels'])).toBe(true);
    expect(matches(one('Service', 'mediabot')['spec']['selector'])).toBe(true);
    expect(matches(one('PodDisruptionBudget', 'mediabot')['spec']['selector']['matchLabels'])).toBe(true);
  });

  it('each pod has its callback route: Service, Ingress path and MEDIABOT_PUBLIC_URL agree', () => {
    const podIngress = one('Ingress', 'mediabot-pods');
    const rewrite: string = podIngress['metadata']['annotations']['nginx.ingress.kubernetes.io/rewrite-target'];
    const rules: Obj[] = podIngress['spec']['rules'];
    expect(rules.length).toBe(1);
    const paths: Obj[] = rules[0]!['http']['paths'];
    expect(paths.length).toBe(replicas);
    for (const pod of podNames) {
      const svc = one('Service', pod);
      expect(svc['spec']['selector']).toEqual({ 'statefulset.kubernetes.io/pod-name': pod });
      expect(svc['spec']['publishNotReadyAddresses']).toBe(true);
      const path = paths.find((p) => p['backend']['service']['name'] === pod);
      expect(path, `no Ingress path for ${pod}`).toBeDefined();

      // Graph posts to <public url>/api/calling; the Ingress must take that to the pod's /api/calling.
      const publicUrl = new URL(podEnv(pod)['MEDIABOT_PUBLIC_URL']!.replace('{instance}', pod));
      expect(publicUrl.protocol).toBe('https:');
      expect(publicUrl.hostname).toBe(rules[0]!['host']);
      for (const route of ['/api/calling', '/api/notifications', '/media/bridge']) {
        const requested = `${publicUrl.pathname}${route}`;
        const m = new RegExp(`^${path!['path']}`).exec(requested);
        expect(m, `${requested} does not match ${path!['path']}`).not.toBeNull();
        expect(rewrite.replace(/\$(\d)/g, (_, i: string) => m![Number(i)] ?? '')).toBe(route);
        for (const other of podNames.filter((p) => p !== pod)) expect(new RegExp(`^${paths.find((p) => p['backend']['service']['name'] === other)!['path']}`).test(requested)).toBe(false);
      }
    }
  });

  it('MEDIABOT_REDIS_URL points at the Redis Service when the base includes one', () => {
    const url = new URL(env0['MEDIABOT_REDIS_URL']!);
    expect(['redis:', 'rediss:']).toContain(url.protocol);
    if (resourceFiles.includes('redis.yaml')) {
      const svc = one('Service', url.hostname);
      expect(svc['spec']['ports'].map((p: Obj) => String(p['port']))).toContain(url.port || '6379');
    }
  });
});
