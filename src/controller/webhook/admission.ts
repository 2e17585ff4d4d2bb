/**
 * One AdmissionReview in, one AdmissionReview out: decodes the request, asks core's
 * `planInjection`, counts the outcome, encodes the JSONPatch and the warnings. No I/O.
 *
 * Invariants:
 * - Always `allowed: true` (the webhook never blocks a pod; failurePolicy Ignore covers the
 *   webhook being down, this covers it being up).
 * - Pods in an excluded namespace (the controller's own, kube-system) are never patched, even if
 *   a misconfigured selector sends them here.
 * - The response echoes the request's uid and apiVersion (admission.k8s.io/v1).
 */
import type { V1Pod } from '@kubernetes/client-node';
import { planInjection, type InjectionSettings } from '../../core/injection-patch.ts';
import type { ControllerMetrics } from '../metrics.ts';

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  operation?: string;
  namespace?: string;
  object?: unknown;
  dryRun?: boolean;
}

export interface AdmissionReview {
  apiVersion: string;
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
}

export interface AdmissionResponseBody {
  uid: string;
  allowed: true;
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

export interface AdmissionDeps {
  settings(): InjectionSettings;
  excludedNamespaces: ReadonlySet<string>;
  metrics: Pick<ControllerMetrics, 'webhookAdmissions' | 'webhookVersionLabelProblems' | 'webhookOverrideRejections'>;
}

export function answer(review: AdmissionReview, deps: AdmissionDeps): { apiVersion: string; kind: 'AdmissionReview'; response: AdmissionResponseBody } {
  const request = review.request;
  const wrap = (response: AdmissionResponseBody) => ({ apiVersion: review.apiVersion, kind: 'AdmissionReview' as const, response });
  if (!request || typeof request.uid !== 'string') {
    deps.metrics.webhookAdmissions.inc({ outcome: 'malformed' });
    return wrap({ uid: request?.uid ?? '', allowed: true });
  }
  const allow = (outcome: string): ReturnType<typeof wrap> => {
    deps.metrics.webhookAdmissions.inc({ outcome });
    return wrap({ uid: request.uid, allowed: true });
  };
  if (request.kind?.kind !== 'Pod' || request.operation !== 'CREATE' || typeof request.object !== 'object' || request.object === null) return allow('not_a_pod_create');
  if (request.namespace !== undefined && deps.excludedNamespaces.has(request.namespace)) return allow('excluded_namespace');

  const plan = planInjection(request.object as V1Pod, deps.settings());
  deps.metrics.webhookAdmissions.inc({ outcome: plan.outcome });
  if (plan.versionProblem !== null) deps.metrics.webhookVersionLabelProblems.inc();
  for (const annotation of plan.rejectedOverrides) deps.metrics.webhookOverrideRejections.inc({ annotation });
  const response: AdmissionResponseBody = { uid: request.uid, allowed: true };
  if (plan.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(plan.patch)).toString('base64');
  }
  if (plan.warnings.length > 0) response.warnings = plan.warnings;
  return wrap(response);
}
