/**
 * A container's environment as the kubelet would build it: the downward-API basics the local
 * images rely on (POD_NAME, POD_NAMESPACE, POD_IP, VERSION_OBSERVER_LISTEN_HOST), then envFrom,
 * then env (later wins), with `$(VAR)` expansion against what is defined so far.
 *
 * Invariants: pure apart from `lookup` (ConfigMap/Secret reads); a missing non-optional
 * reference throws a ConfigError whose message names it (the pod gets
 * CreateContainerConfigError, as with the real kubelet).
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads `data` of a ConfigMap or Secret (Secret values already base64-decoded); undefined if absent. */
export type DataLookup = (kind: 'ConfigMap' | 'Secret', namespace: string, name: string) => Promise<Record<string, string> | undefined>;

export interface EnvContext {
  pod: V1Pod;
  container: V1Container;
  podIP: string;
  hostIP: string;
  nodeName: string;
  lookup?: DataLookup;
}

/** Expands `$(NAME)` with vars; `$$(NAME)` stays literal `$(NAME)`; unknown names are kept. */
export function expandVars(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && Object.hasOwn(vars, name) ? vars[name]! : m;
  });
}

const keyRef = /^metadata\.(labels|annotations)\['(.+)'\]$/;

export function resolveFieldRef(fieldPath: string, ctx: EnvContext): string {
  const md = ctx.pod.metadata ?? {};
  switch (fieldPath) {
    case 'metadata.name':
      return md.name ?? '';
    case 'metadata.namespace':
      return md.namespace ?? '';
    case 'metadata.uid':
      return md.uid ?? '';
    case 'spec.nodeName':
      return ctx.nodeName;
    case 'spec.serviceAccountName':
      return ctx.pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return ctx.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return ctx.hostIP;
  }
  const m = keyRef.exec(fieldPath);
  if (m) {
    const map = (m[1] === 'labels' ? md.labels : md.annotations) ?? {};
    return map[m[2]!] ?? '';
  }
  if (fieldPath === 'metadata.labels' || fieldPath === 'metadata.annotations') {
    const map = (fieldPath === 'metadata.labels' ? md.labels : md.annotations) ?? {};
    return Object.entries(map)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}="${v}"`)
      .join('\n');
  }
  throw new ConfigError(`unsupported fieldRef.fieldPath "${fieldPath}"`);
}

function resolveResourceRef(resource: string, ctx: EnvContext, containerName?: string): string {
  const c = containerName ? (ctx.pod.spec?.containers.find((x) => x.name === containerName) ?? ctx.container) : ctx.container;
  const [kind, what] = resource.split('.') as [string, string];
  const r = (kind === 'limits' ? c.resources?.limits : c.resources?.requests) ?? {};
  const v = r[what];
  if (v !== undefined) return String(v);
  return what === 'cpu' ? '1' : '0';
}

export async function buildEnv(ctx: EnvContext): Promise<Record<string, string>> {
  const ns = ctx.pod.metadata?.namespace ?? 'default';
  const env: Record<string, string> = {
    POD_NAME: ctx.pod.metadata?.name ?? '',
    POD_NAMESPACE: ns,
    POD_IP: ctx.podIP,
    VERSION_OBSERVER_LISTEN_HOST: ctx.podIP,
  };
  const need = async (kind: 'ConfigMap' | 'Secret', name: string, optional: boolean | undefined) => {
    const data = ctx.lookup ? await ctx.lookup(kind, ns, name) : undefined;
    if (!data && !optional) throw new ConfigError(`${kind.toLowerCase()} "${name}" not found`);
    return data;
  };
  for (const from of ctx.container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    const data = from.configMapRef
      ? await need('ConfigMap', from.configMapRef.name ?? '', from.configMapRef.optional)
      : from.secretRef
        ? await need('Secret', from.secretRef.name ?? '', from.secretRef.optional)
        : undefined;
    for (const [k, v] of Object.entries(data ?? {})) env[prefix + k] = v;
  }
  for (const e of ctx.container.env ?? []) {
    const vf = e.valueFrom;
    if (!vf) {
      env[e.name] = expandVars(e.value ?? '', env);
    } else if (vf.fieldRef) {
      env[e.name] = resolveFieldRef(vf.fieldRef.fieldPath, ctx);
    } else if (vf.resourceFieldRef) {
      env[e.name] = resolveResourceRef(vf.resourceFieldRef.resource, ctx, vf.resourceFieldRef.containerName);
    } else if (vf.configMapKeyRef || vf.secretKeyRef) {
      const ref = (vf.configMapKeyRef ?? vf.secretKeyRef)!;
      const kind = vf.configMapKeyRef ? 'ConfigMap' : 'Secret';
      const data = await need(kind, ref.name ?? '', ref.optional);
      const v = data?.[ref.key];
      if (v === undefined) {
        if (!ref.optional) throw new ConfigError(`couldn't find key ${ref.key} in ${kind} ${ns}/${ref.name}`);
        continue;
      }
      env[e.name] = v;
    } else {
      throw new ConfigError(`env ${e.name}: unsupported valueFrom`);
    }
  }
  // The process must bind the pod IP: a wildcard listen host would make pods collide.
  const lh = env.VERSION_OBSERVER_LISTEN_HOST;
  if (lh === '0.0.0.0' || lh === '::' || lh === '') env.VERSION_OBSERVER_LISTEN_HOST = ctx.podIP;
  return env;
}
