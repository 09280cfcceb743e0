/**
 * The direction rule (the second source document): the party that will send sensitive
 * data first places the call, and the other party — the callee — supplies the number.
 * An eavesdropper who learns the number and calls first has nothing to offer first, and
 * the callee sends nothing before it has received.
 */
export type Party = 'provider' | 'merchant';

export interface Roles {
  caller: Party;
  callee: Party;
}

export const rolesFor = (firstSender: Party): Roles => ({ caller: firstSender, callee: firstSender === 'provider' ? 'merchant' : 'provider' });

/** Refuses a plan in which the party asked to supply the number would also send first. */
export function checkDirection(firstSender: Party, numberSuppliedBy: Party): { ok: true; roles: Roles } | { ok: false; cause: 'direction-rule' } {
  if (numberSuppliedBy === firstSender) return { ok: false, cause: 'direction-rule' };
  return { ok: true, roles: rolesFor(firstSender) };
}
