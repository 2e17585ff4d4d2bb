/**
 * The webhook's TLS material, managed for the platform team: a CA bundle and a serving
 * certificate kept in one Secret, the MutatingWebhookConfiguration's caBundle kept equal to the
 * bundle, renewals decided by core's planRotation. Every replica runs this loop; they agree
 * through the Secret's resourceVersion (an update from a stale read answers 409 and is redone
 * from a fresh read), so two replicas never install different certificates.
 *
 * Secret data (`managed` mode):
 *   ca.crt   every CA still trusted, PEM, oldest first (this is the caBundle)
 *   ca.key   their private keys, PEM, same order
 *   tls.crt  the serving certificate      tls.key  its key
 * In `external` mode (cert-manager) the Secret is cert-manager's (tls.crt, tls.key, ca.crt) and
 * the caBundle is cert-manager's cainjector's job: this loop only reads and serves.
 *
 * Invariants:
 * - The server never listens without a certificate: `start()` resolves after the first load.
 * - A new serving certificate is swapped into the listening server (setSecureContext): no
 *   restart, connections in flight keep their old session.
 * - RBAC: get/update on the one Secret and get/patch on the one webhook configuration, by name.
 */
import { AdmissionregistrationV1Api, CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { planRotation, type RotationSettings } from '../../core/cert-rotation.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Logger } from '../../platform/logger.ts';
import { apiStatus } from '../keys.ts';
import type { ControllerMetrics } from '../metrics.ts';
import { certInfo, issueCa, issuedBy, issueServing, splitPemBundle, type KeyPairPem } from './certificates.ts';

export interface ServingMaterial {
  certPem: string;
  keyPem: string;
  caBundlePem: string;
}

export interface TlsManagerOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  secretName: string;
  webhookConfigName: string;
  dnsNames: readonly string[];
  mode: 'managed' | 'external';
  rotation: RotationSettings;
  /** How often the Secret is re-read (and renewal checked). */
  checkEveryMs: number;
  clock: Clock;
  log: Logger;
  metrics: Pick<ControllerMetrics, 'webhookCertRenewals' | 'webhookCertNotAfter'>;
  /** Called with each new serving material (first load included). */
  onMaterial(material: ServingMaterial): void;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : '');
const splitKeys = (pem: string) => pem.match(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/g) ?? [];

export class TlsManager {
  readonly #o: TlsManagerOptions;
  readonly #core: CoreV1Api;
  readonly #admission: AdmissionregistrationV1Api;
  #served = '';
  #bundleInConfig = '';
  #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: TlsManagerOptions) {
    this.#o = options;
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#admission = options.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  }

  /** Loads (creating or renewing when needed) until there is a certificate, then keeps checking. */
  async start(): Promise<void> {
    for (let attempt = 1; this.#served === ''; attempt++) {
      try {
        await this.sync();
      } catch (err) {
        this.#o.log.warn({ err: describe(err), secret: `${this.#o.namespace}/${this.#o.secretName}`, attempt }, 'webhook TLS not ready yet; retrying');
        await this.#o.clock.sleep(Math.min(10_000, 500 * attempt), this.#stop.signal);
        if (this.#stop.signal.aborted) return;
      }
    }
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      await this.#o.clock.sleep(this.#o.checkEveryMs, this.#stop.signal);
      if (this.#stop.signal.aborted) return;
      try {
        await this.sync();
      } catch (err) {
        this.#o.log.warn({ err: describe(err) }, 'webhook TLS check failed; serving the current certificate');
      }
    }
  }

  /** One pass: read, renew when due (managed), serve what the Secret holds, keep the caBundle. */
  async sync(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const secret = await this.#read();
      const material = this.#o.mode === 'managed' ? await this.#renewIfDue(secret) : materialOf(secret);
      if (material === 'conflict') {
        if (attempt >= 3) throw new Error('the webhook TLS Secret kept changing under us');
        continue;
      }
      if (!material) throw new Error(`Secret ${this.#o.namespace}/${this.#o.secretName} holds no tls.crt/tls.key yet`);
      this.#serve(material);
      if (this.#o.mode === 'managed') await this.#ensureCaBundle(material.caBundlePem);
      return;
    }
  }

  async #read(): Promise<V1Secret | null> {
    try {
      return await this.#core.readNamespacedSecret({ namespace: this.#o.namespace, name: this.#o.secretName });
    } catch (err) {
      if (apiStatus(err) === 404) return null;
      throw err;
    }
  }

  async #renewIfDue(secret: V1Secret | null): Promise<ServingMaterial | null | 'conflict'> {
    const now = this.#o.clock.now();
    const caPems = splitPemBundle(unb64(secret?.data?.['ca.crt']));
    const caKeys = splitKeys(unb64(secret?.data?.['ca.key']));
    const cas = caPems.length === caKeys.length ? caPems.map((pem, i) => ({ ...certInfo(pem), keyPem: caKeys[i]! })) : [];
    const tlsCrt = unb64(secret?.data?.['tls.crt']);
    const tlsKey = unb64(secret?.data?.['tls.key']);
    let serving: (ReturnType<typeof certInfo> & { issuer: number }) | null = null;
    if (tlsCrt && tlsKey) {
      const info = certInfo(tlsCrt);
      const issuer = cas.findIndex((ca) => verifies(tlsCrt, ca.pem));
      if (issuer >= 0) serving = { ...info, issuer };
    }
    const plan = planRotation({ cas, serving }, now, this.#o.rotation);
    if (!plan.newCa && plan.issueServingFrom === null && plan.keepCas.length === cas.length) {
      return { certPem: tlsCrt, keyPem: tlsKey, caBundlePem: cas.map((c) => c.pem).join('') };
    }
    const nextCas: Array<KeyPairPem> = plan.keepCas.map((c) => ({ certPem: c.pem, keyPem: c.keyPem }));
    if (plan.newCa) {
      nextCas.push(issueCa(now, this.#o.rotation.caValidityMs));
      this.#o.metrics.webhookCertRenewals.inc({ certificate: 'ca' });
    }
    let cert = { certPem: tlsCrt, keyPem: tlsKey };
    if (plan.issueServingFrom !== null) {
      const signer = plan.issueServingFrom === 'new' ? nextCas.at(-1)! : nextCas[plan.issueServingFrom]!;
      cert = issueServing(signer, this.#o.dnsNames, now, this.#o.rotation.servingValidityMs);
      this.#o.metrics.webhookCertRenewals.inc({ certificate: 'serving' });
    }
    const data = {
      'ca.crt': b64(nextCas.map((c) => c.certPem).join('')),
      'ca.key': b64(nextCas.map((c) => c.keyPem).join('')),
      'tls.crt': b64(cert.certPem),
      'tls.key': b64(cert.keyPem),
    };
    try {
      if (secret) {
        await this.#core.replaceNamespacedSecret({ namespace: this.#o.namespace, name: this.#o.secretName, body: { ...secret, data } });
      } else {
        await this.#core.createNamespacedSecret({
          namespace: this.#o.namespace,
          body: { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: this.#o.secretName, namespace: this.#o.namespace }, data },
        });
      }
    } catch (err) {
      if (apiStatus(err) === 409) return 'conflict';
      throw err;
    }
    this.#o.log.info({ newCa: plan.newCa, newServing: plan.issueServingFrom !== null, cas: nextCas.length, notAfter: certInfo(cert.certPem).notAfterMs }, 'webhook certificates renewed');
    return { certPem: cert.certPem, keyPem: cert.keyPem, caBundlePem: nextCas.map((c) => c.certPem).join('') };
  }

  #serve(m: ServingMaterial): void {
    if (m.certPem === this.#served) return;
    this.#served = m.certPem;
    this.#o.metrics.webhookCertNotAfter.set({ certificate: 'serving' }, certInfo(m.certPem).notAfterMs / 1000);
    const cas = splitPemBundle(m.caBundlePem);
    if (cas.length > 0) this.#o.metrics.webhookCertNotAfter.set({ certificate: 'ca' }, certInfo(cas.at(-1)!).notAfterMs / 1000);
    this.#o.onMaterial(m);
  }

  /** Patches every webhook of our configuration whose caBundle differs from the bundle. */
  async #ensureCaBundle(bundlePem: string): Promise<void> {
    if (bundlePem === this.#bundleInConfig) return;
    const caBundle = b64(bundlePem);
    let config;
    try {
      config = await this.#admission.readMutatingWebhookConfiguration({ name: this.#o.webhookConfigName });
    } catch (err) {
      if (apiStatus(err) === 404) {
        this.#o.log.warn({ name: this.#o.webhookConfigName }, 'MutatingWebhookConfiguration not found; caBundle not set (is the chart installed?)');
        return;
      }
      throw err;
    }
    const ops = (config.webhooks ?? []).flatMap((w, i) => (w.clientConfig.caBundle === caBundle ? [] : [{ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle }]));
    if (ops.length > 0) {
      // test the resourceVersion, so a concurrent edit of the webhooks list is not overwritten by index
      const body = [{ op: 'test', path: '/metadata/resourceVersion', value: config.metadata?.resourceVersion }, ...ops];
      await this.#admission.patchMutatingWebhookConfiguration({ name: this.#o.webhookConfigName, body });
      this.#o.log.info({ name: this.#o.webhookConfigName, webhooks: ops.length, cas: splitPemBundle(bundlePem).length }, 'caBundle updated');
    }
    this.#bundleInConfig = bundlePem;
  }
}

function verifies(leafPem: string, caPem: string): boolean {
  try {
    return issuedBy(leafPem, caPem);
  } catch {
    return false;
  }
}

/** External mode: what cert-manager wrote. */
function materialOf(secret: V1Secret | null): ServingMaterial | null {
  const certPem = unb64(secret?.data?.['tls.crt']);
  const keyPem = unb64(secret?.data?.['tls.key']);
  if (!certPem || !keyPem) return null;
  return { certPem, keyPem, caBundlePem: unb64(secret?.data?.['ca.crt']) };
}

/** One line for the log: the API status when there is one, else the message. */
function describe(err: unknown): string {
  const status = apiStatus(err);
  return `${status !== undefined ? `HTTP ${status}: ` : ''}${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
}
