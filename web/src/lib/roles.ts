// Who may do what to whom in a workspace's member list (the server decides;
// this only hides controls that would be refused). Admins change members
// and admins between member and admin and remove members; owners do
// anything; guests can only ever be members.
import type { Member } from '../api/client';

export type Role = 'owner' | 'admin' | 'member';
export const ROLES: readonly Role[] = ['owner', 'admin', 'member'];

const rank = (r: string | undefined): number => (r === 'owner' ? 3 : r === 'admin' ? 2 : r === 'member' ? 1 : 0);

export function isManager(myRole: string | undefined): boolean {
  return rank(myRole) >= 2;
}

/** The roles `myRole` may give `target` (empty: no control to show). */
export function roleChoices(myRole: string | undefined, target: Member, me: string): Role[] {
  if (!isManager(myRole) || target.userId === me) return [];
  if (target.isGuest) return [];
  if (myRole === 'owner') return [...ROLES];
  // An admin may not touch an owner, nor make one.
  if (target.role === 'owner') return [];
  return ['admin', 'member'];
}

/** Whether `myRole` may remove `target` (never oneself here: that is leaving). */
export function canRemove(myRole: string | undefined, target: Member, me: string): boolean {
  if (target.userId === me) return false;
  if (myRole === 'owner') return true;
  return myRole === 'admin' && rank(target.role) <= 1;
}

/** Owners first, then admins, then members; by name within a role. */
export function sortMembers(list: readonly Member[]): Member[] {
  return [...list].sort((a, b) => rank(b.role) - rank(a.role) || (a.name ?? '').localeCompare(b.name ?? ''));
}

export const roleLabel = (r: string): string => (r === 'owner' ? 'Owner' : r === 'admin' ? 'Admin' : 'Member');
