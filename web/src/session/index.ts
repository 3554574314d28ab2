/** Sign-in for the UI: the ChatSession over the shared client library (certim-session.ts). */
import type { SignIn } from './types.js';

export const signIn: SignIn = async () => {
  throw new Error('the client core is not available in the browser yet');
};
