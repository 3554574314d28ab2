/** The families served on BOS connections, in the order announced by 01/03. Add a family: one line here. */
import { buddyFamily } from './buddy.js';
import type { BosFamily } from './family.js';
import { feedbagFamily } from './feedbag.js';
import { icbmFamily } from './icbm.js';
import { locateFamily } from './locate.js';
import { oserviceFamily } from './oservice.js';
import { permitDenyFamily } from './permit-deny.js';

/** BOS family modules. */
export const BOS_FAMILIES: readonly BosFamily[] = [oserviceFamily, locateFamily, buddyFamily, icbmFamily, permitDenyFamily, feedbagFamily];
