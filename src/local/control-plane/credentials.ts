/**
 * Credentials of the local control plane: static bearer tokens (admin in system:masters, the
 * controller manager), the service-account signing key pair, and kubeconfig files. The
 * apiserver self-signs its serving certificate in --cert-dir; we trust its CA from there.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Credentials {
  adminToken: string;
  controllerManagerToken: string;
  tokenFile: string;
  saKeyFile: string;
  saPubFile: string;
}

export function writeCredentials(dir: string): Credentials {
  const adminToken = randomBytes(24).toString('hex');
  const controllerManagerToken = randomBytes(24).toString('hex');
  const tokenFile = join(dir, 'tokens.csv');
  writeFileSync(
    tokenFile,
    `${adminToken},admin,admin-uid,"system:masters"\n` +
      `${controllerManagerToken},system:kube-controller-manager,kcm-uid,"system:masters"\n`,
    { mode: 0o600 },
  );
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKeyFile = join(dir, 'sa.key');
  const saPubFile = join(dir, 'sa.pub');
  writeFileSync(saKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(saPubFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return { adminToken, controllerManagerToken, tokenFile, saKeyFile, saPubFile };
}

/**
 * The self-signed serving cert file holds the leaf first and its CA last; the CA is what
 * clients should trust.
 */
export function readServingCa(certDir: string): string {
  const pem = readFileSync(join(certDir, 'apiserver.crt'), 'utf8');
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const ca = blocks[blocks.length - 1];
  if (!ca) throw new Error(`no certificate in ${certDir}/apiserver.crt`);
  return `${ca}\n`;
}

export function kubeconfigYaml(opts: { server: string; caPem: string; user: string; token: string; context?: string }): string {
  const ctx = opts.context ?? 'version-observer-local';
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${ctx}`,
    '  cluster:',
    `    server: ${opts.server}`,
    `    certificate-authority-data: ${Buffer.from(opts.caPem).toString('base64')}`,
    'users:',
    `- name: ${opts.user}`,
    '  user:',
    `    token: ${opts.token}`,
    'contexts:',
    `- name: ${ctx}`,
    '  context:',
    `    cluster: ${ctx}`,
    `    user: ${opts.user}`,
    `current-context: ${ctx}`,
    '',
  ].join('\n');
}
