/**
 * When the webhook's CA and serving certificate are renewed: a pure decision on their validity
 * windows and `now` (the shell in src/controller/webhook/tls-manager.ts reads and writes the
 * Secret and the caBundle, and issues the certificates).
 *
 * Invariants:
 * - A certificate is renewed once two thirds of its lifetime have passed, so the old one still
 *   has a third of its life left while every replica and the API server move to the new one.
 * - CA rotation overlaps: a new CA joins the bundle (caBundle) beside the current one; the
 *   serving certificate moves to the new CA only after the new CA has been in the bundle for
 *   `propagationMs` (the API server reloads its webhook configuration a moment after a change),
 *   and an old CA leaves the bundle only once it has expired. At every instant the serving
 *   certificate in use chains to a CA the API server trusts.
 * - A serving certificate never outlives its issuer (its notAfter is capped at the CA's).
 */

/** Certificates start this long before they are issued, so a peer whose clock is behind accepts them. */
export const BACKDATE_MS = 60_000;

export interface Validity {
  notBeforeMs: number;
  notAfterMs: number;
}

export interface RotationInput<C extends Validity> {
  /** The CAs in the bundle, newest last. */
  cas: readonly C[];
  /** The serving certificate and the index (in `cas`) of its issuer, when there is one. */
  serving: (Validity & { issuer: number }) | null;
}

export interface RotationSettings {
  servingValidityMs: number;
  caValidityMs: number;
  propagationMs: number;
}

export interface RotationPlan<C extends Validity> {
  /** Issue a new CA and append it to the bundle. */
  newCa: boolean;
  /** CAs to keep (expired ones are dropped), newest last; a new CA is appended after these. */
  keepCas: C[];
  /** Issue a new serving certificate from this CA: an index into keepCas, or 'new' for the new CA; null = keep the current one. */
  issueServingFrom: number | 'new' | null;
}

/** Two thirds of the way from notBefore to notAfter. */
export function renewalDueAt(v: Validity): number {
  return v.notBeforeMs + ((v.notAfterMs - v.notBeforeMs) * 2) / 3;
}

export function planRotation<C extends Validity>(input: RotationInput<C>, now: number, settings: RotationSettings): RotationPlan<C> {
  const keepCas = input.cas.filter((ca) => ca.notAfterMs > now);
  const newest = keepCas.at(-1);
  const newCa = newest === undefined || now >= renewalDueAt(newest);
  const servingIssuer = input.serving ? input.cas[input.serving.issuer] : undefined;
  const servingIssuerKept = servingIssuer !== undefined ? keepCas.indexOf(servingIssuer) : -1;

  // The CA a new serving certificate should come from: the newest one the API server has had
  // time to learn; at first start (no CA yet, or the only one) there is nothing older to use.
  let signer: number | 'new' | null = null;
  for (let i = keepCas.length - 1; i >= 0; i--) {
    const ca = keepCas[i]!;
    if (ca.notBeforeMs + BACKDATE_MS + settings.propagationMs <= now || i === 0) {
      signer = i;
      break;
    }
  }
  if (signer === null) signer = 'new';

  const servingUsable = input.serving !== null && servingIssuerKept >= 0 && now < renewalDueAt(input.serving) && input.serving.notAfterMs > now;
  // Move to a newer, propagated CA as soon as there is one, so the old CA can retire.
  const staleIssuer = servingUsable && typeof signer === 'number' && servingIssuerKept < signer;
  let issueServingFrom: number | 'new' | null = null;
  if (!servingUsable || staleIssuer) issueServingFrom = keepCas.length === 0 ? 'new' : signer;
  return { newCa, keepCas, issueServingFrom };
}
