/**
 * The Kubernetes manifests in deploy/k8s render (kustomize) into valid objects, and every
 * MAGNETAR_* setting they pass to a container is one the service really has, with a value its
 * config accepts: a renamed setting or a bad bound fails here, not in a cluster.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { type ConfigSpec, loadConfig } from '../../lib/config/index.ts';
import { bookieConfigSpec } from '../../services/bookie/config.ts';
import { brokerSettings } from '../../services/broker/config.ts';
import { coordinatorConfigSpec } from '../../services/coordinator/config.ts';

const base = join(import.meta.dirname, '../../deploy/k8s/base');

type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string };
  spec?: any;
};

function kubectlAvailable(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Rendered with kustomize when kubectl is installed; otherwise the listed resources, namespaced. */
function render(): K8sObject[] {
  const text = kubectlAvailable()
    ? execFileSync('kubectl', ['kustomize', base], { encoding: 'utf8' })
    : (() => {
        const k = parseYaml(readFileSync(join(base, 'kustomization.yaml'), 'utf8')) as {
          resources: string[];
        };
        return k.resources.map((r) => readFileSync(join(base, r), 'utf8')).join('\n---\n');
      })();
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

const specs: Record<string, [string, ConfigSpec]> = {
  bookie: ['bookie', bookieConfigSpec],
  broker: ['broker', brokerSettings],
  coordinator: ['coordinator', coordinatorConfigSpec],
};

describe('deploy/k8s manifests', () => {
  const objects = render();

  it('render into objects that pass the Kubernetes schemas', async () => {
    expect(objects.length).toBeGreaterThanOrEqual(9);
    for (const obj of objects) {
      const mod = (await import(`kubernetes-models/${obj.apiVersion}`)) as Record<string, any>;
      const Model = mod[obj.kind];
      expect(Model, `${obj.apiVersion}/${obj.kind}`).toBeDefined();
      expect(() => new Model(obj).validate(), `${obj.kind}/${obj.metadata?.name}`).not.toThrow();
    }
  });

  it('run every Magnetar role with settings its config accepts', () => {
    const workloads = objects.filter((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment');
    const roles = new Set<string>();
    for (const w of workloads) {
      for (const c of w.spec.template.spec.containers as any[]) {
        if (c.image !== 'magnetar' && !String(c.image).startsWith('magnetar:')) continue;
        const role = c.args?.[0] as string;
        const entry = specs[role];
        expect(entry, `${w.metadata?.name}: unknown role ${role}`).toBeDefined();
        roles.add(role);
        const env: Record<string, string> = {};
        for (const e of c.env ?? []) {
          if (typeof e.value === 'string') env[e.name] = e.value.replace(/\$\([A-Z_]+\)/g, 'x-0');
        }
        const prefix = `MAGNETAR_${entry[0].toUpperCase()}_`;
        const names = Object.keys(env).filter((n) => n.startsWith('MAGNETAR_'));
        for (const n of names) expect(n.startsWith(prefix), `${n} in ${role}`).toBe(true);
        const known = new Set(
          Object.keys(entry[1]).map((k) => prefix + k.replace(/[A-Z]/g, (ch) => `_${ch}`).toUpperCase()),
        );
        for (const n of names) expect(known.has(n), `${role} has no setting for ${n}`).toBe(true);
        expect(() => loadConfig(entry[0], entry[1], { env })).not.toThrow();
      }
    }
    expect([...roles].sort()).toEqual(['bookie', 'broker', 'coordinator']);
  });

  it('put everything in the magnetar namespace with probes on every Magnetar container', () => {
    for (const o of objects.filter((x) => x.kind !== 'Namespace'))
      expect(o.metadata?.namespace).toBe('magnetar');
    for (const w of objects.filter((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment')) {
      for (const c of w.spec.template.spec.containers as any[])
        expect(c.readinessProbe, c.name).toBeDefined();
    }
  });
});
