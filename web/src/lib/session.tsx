import { createContext, useContext } from 'react';
import type { Me } from '../api/types.ts';

/** Who is signed in in this tab, and how to sign out. */
export interface Session {
  me: Me;
  signOut: () => void;
  isAdmin: boolean;
  /** May change things (analyst, admin, automation); observers only read. */
  canWork: boolean;
  /** Reads the session again (after a change to the account). */
  refresh: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}
