/** Sign-in for the UI: the ChatSession over the shared client library (certim-session.ts). */
export { signInWithCore as signIn } from './certim-session.js';
