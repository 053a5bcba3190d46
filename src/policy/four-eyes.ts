import { forbidden } from '../errors/index.js';

/**
 * The four-eyes rules, one function for every kind of sign-off (case approval
 * stages, a reissue's authorisation, a template version's review): whoever
 * started the thing does not decide it, and one person decides at most one of
 * its stages. No role overrides them.
 */
export type FourEyesViolation = 'INITIATOR_DECIDES' | 'DECIDES_TWICE';

export interface FourEyesSubject {
  /** Who started the case, asked for the reissue, wrote the version. */
  initiator: string;
  /** Who decided the subject's stages so far (undecided stages may be null). */
  deciders?: readonly (string | null)[];
}

/** Which rule a decision by `actor` would break, or null when it breaks none. */
export function fourEyesViolation(actor: string, subject: FourEyesSubject): FourEyesViolation | null {
  if (subject.initiator === actor) return 'INITIATOR_DECIDES';
  if (subject.deciders?.some((d) => d === actor)) return 'DECIDES_TWICE';
  return null;
}

/** What a refusal says, in the words of the subject (a case, a review, a reissue). */
export type FourEyesWording = Record<FourEyesViolation, string>;

/** Refuses (FORBIDDEN) a decision that breaks a four-eyes rule; the message names the rule. */
export function checkFourEyes(actor: string, subject: FourEyesSubject, wording: FourEyesWording): void {
  const violation = fourEyesViolation(actor, subject);
  if (violation) throw forbidden(`Four-eyes: ${wording[violation]}`);
}
