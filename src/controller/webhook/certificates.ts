/**
 * X.509 for the webhook: a self-signed CA and a serving certificate for the webhook Service's DNS
 * names. node:crypto makes the RSA keys; node-forge builds and signs the certificates (it signs
 * RSA only); node:crypto's X509Certificate reads them back.
 *
 * Invariants:
 * - Every certificate starts BACKDATE_MS before `now` (peers with a slower clock accept it).
 * - A serving certificate never outlives its CA (notAfter capped at the CA's), carries
 *   serverAuth and the Service's DNS names as SANs (the API server verifies
 *   <service>.<namespace>.svc).
 */
import { X509Certificate, generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { BACKDATE_MS, type Validity } from '../../core/cert-rotation.ts';

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

export interface CertInfo extends Validity {
  pem: string;
}

function rsaKey(): { publicPem: string; privatePem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  };
}

function serial(): string {
  // positive: first bit clear
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

function base(publicPem: string, now: number, notAfterMs: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  cert.validity.notAfter = new Date(notAfterMs);
  return cert;
}

/** A self-signed CA valid for `validityMs` from now. */
export function issueCa(now: number, validityMs: number, name = 'version-observer webhook CA'): KeyPairPem {
  const key = rsaKey();
  const cert = base(key.publicPem, now, now + validityMs);
  const subject = [{ name: 'commonName', value: `${name} ${new Date(now).toISOString()}` }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(key.privatePem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: key.privatePem };
}

/** The DNS names the API server may dial for a Service. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

/** A serving certificate for `dnsNames`, signed by `ca`, valid for `validityMs` (capped at the CA's end). */
export function issueServing(ca: KeyPairPem, dnsNames: readonly string[], now: number, validityMs: number): KeyPairPem {
  const key = rsaKey();
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const notAfter = Math.min(now + validityMs, caCert.validity.notAfter.getTime());
  const cert = base(key.publicPem, now, notAfter);
  cert.setSubject([{ name: 'commonName', value: dnsNames[2] ?? dnsNames[0] ?? 'webhook' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: dnsNames.map((value) => ({ type: 2, value })) },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: key.privatePem };
}

/** Validity of one PEM certificate. */
export function certInfo(pem: string): CertInfo {
  const x = new X509Certificate(pem);
  return { pem: x.toString(), notBeforeMs: Date.parse(x.validFrom), notAfterMs: Date.parse(x.validTo) };
}

/** Every certificate of a PEM bundle, in order. */
export function splitPemBundle(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** Whether `leafPem` was signed by `caPem`. */
export function issuedBy(leafPem: string, caPem: string): boolean {
  const leaf = new X509Certificate(leafPem);
  const ca = new X509Certificate(caPem);
  return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
}
