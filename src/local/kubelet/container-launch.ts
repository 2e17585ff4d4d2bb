/**
 * What to run for one start of a container: the image's runner turns the container spec (with
 * `$(VAR)` expanded in command and args) into a local command line, working directory and
 * environment. Every way this can fail is a result with the kubelet's waiting reason, never an
 * exception, so the container shell only has to show it and retry.
 *
 * Invariants: pure apart from the runner (the caller's code) and one existence check of the
 * working directory; the process environment is baseEnv < the container's env < the runner's env.
 */
import { existsSync } from 'node:fs';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { ImageRunner } from '../images.ts';
import { ConfigError, expandVars } from './env.ts';

export interface LaunchFailure {
  ok: false;
  /** the waiting reason: CreateContainerConfigError or RunContainerError */
  reason: string;
  message: string;
}

export interface Launch {
  ok: true;
  command: string;
  args: string[];
  cwd: string | undefined;
  env: Record<string, string>;
  /** process://<command> */
  imageID: string;
}

/** The waiting state of a container whose environment could not be built. */
export function envFailure(err: unknown): LaunchFailure {
  const message = err instanceof Error ? err.message : String(err);
  return { ok: false, reason: err instanceof ConfigError ? 'CreateContainerConfigError' : 'RunContainerError', message };
}

export function planLaunch(o: {
  spec: V1Container;
  pod: V1Pod;
  podIP: string;
  runner: ImageRunner;
  /** the container's environment (buildEnv) */
  env: Record<string, string>;
  /** environment of every process, below the container's own */
  baseEnv: Record<string, string>;
}): Launch | LaunchFailure {
  const { spec, env } = o;
  let processSpec;
  try {
    processSpec = o.runner({
      image: spec.image ?? '',
      ...(spec.command ? { command: spec.command.map((s) => expandVars(s, env)) } : {}),
      ...(spec.args ? { args: spec.args.map((s) => expandVars(s, env)) } : {}),
      env,
      podIP: o.podIP,
      podName: o.pod.metadata?.name ?? '',
      namespace: o.pod.metadata?.namespace ?? '',
    });
  } catch (err) {
    return { ok: false, reason: 'RunContainerError', message: `image ${spec.image}: runner failed: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (processSpec.cwd && !existsSync(processSpec.cwd)) {
    return { ok: false, reason: 'RunContainerError', message: `working directory "${processSpec.cwd}" does not exist (image ${spec.image})` };
  }
  return {
    ok: true,
    command: processSpec.command,
    args: processSpec.args,
    cwd: processSpec.cwd,
    env: { ...o.baseEnv, ...env, ...(processSpec.env ?? {}) },
    imageID: `process://${processSpec.command}`,
  };
}
