/** The services a server runs by default. Add a service: one module + one line here. */
import { bosService } from './bos.js';
import type { OscarService } from './service.js';

/** Default services. */
export const DEFAULT_SERVICES: readonly OscarService[] = [bosService];
