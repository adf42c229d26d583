import type { RejectionReason } from './rejection-reason.js';

/** A check that passed, with what it proved. */
export interface Accepted<E> {
  readonly ok: true;
  readonly evidence: E;
}

/** A check that failed, with a stable reason code and an operator-facing detail (never a secret). */
export interface Rejected {
  readonly ok: false;
  readonly reason: RejectionReason;
  readonly detail?: string;
}

/** The typed result of every check in this library: nothing here throws on bad input. */
export type Verdict<E> = Accepted<E> | Rejected;

/** Builds an accepted verdict. */
export function accept<E>(evidence: E): Accepted<E> {
  return { ok: true, evidence };
}

/** Builds a rejected verdict. */
export function reject(reason: RejectionReason, detail?: string): Rejected {
  return detail === undefined ? { ok: false, reason } : { ok: false, reason, detail };
}
