/**
 * What happened to a sent IM, from the server's answer to `04/06` (docs/protocol.md §3.4, §10.4): a `04/0C` host
 * ack means it was delivered to a signed-on recipient or stored durably for an offline one (which of the two, the
 * client knows from the recipient's presence: it watches the recipient, and the server sends the arrival before
 * the ack); a `04/01` error says why it was refused. Each refusal gets its own stable code and a sentence that says
 * what to do.
 */
import { SnacErrorCode } from '../wire/snac.js';
import { ClientError, snacErrorName } from './errors.js';

/** Where an acknowledged IM is: with the recipient, or in the server's offline store until they sign on. */
export type Delivery = 'delivered' | 'stored';

/**
 * The typed refusal for a `04/01` error code answering an IM to `to`; `partial` when earlier parts of a long
 * message had already gone (the receiver then shows an incomplete message).
 */
export function imRefusal(to: string, snacError: number, storeOffline: boolean, partial?: { sent: number; of: number }): ClientError {
  const e = refusal(to, snacError, storeOffline);
  if (!partial) return e;
  return new ClientError(e.code, `${e.message} (parts 1-${partial.sent} of ${partial.of} had already gone; ${to} sees the message as incomplete)`, { snacError });
}

function refusal(to: string, snacError: number, storeOffline: boolean): ClientError {
  switch (snacError) {
    case SnacErrorCode.NotLoggedOn:
      // With the store flag the server refuses 0x04 only for an unknown account or one whose privacy hides us.
      return storeOffline
        ? new ClientError('NO_SUCH_USER', `not delivered: there is no user ${to} (or ${to} does not accept IMs from you); check the screen name`, { snacError })
        : new ClientError('BUDDY_OFFLINE', `not delivered: ${to} is not signed on`, { snacError });
    case SnacErrorCode.InLocalPermitDeny:
      return new ClientError('BLOCKED', `not delivered: you block ${to}; unblock first (certim buddy unblock ${to}, or /unblock ${to} in chat)`, { snacError });
    case SnacErrorCode.QueueFull:
      return new ClientError('QUEUE_FULL', `not stored: ${to} is offline and too many IMs already wait for them; try again after ${to} signs on`, { snacError });
    case SnacErrorCode.RateToHost:
    case SnacErrorCode.RateToClient:
      return new ClientError('RATE_LIMITED', `not delivered: sending too fast; wait a few seconds and send again`, { snacError });
    case SnacErrorCode.MalformedPayload:
      return new ClientError('SEND_FAILED', `not delivered: the server refused the IM as malformed or too long`, { snacError });
    default:
      return new ClientError('SEND_FAILED', `not delivered: the server refused the IM to ${to} (${snacErrorName(snacError)})`, { snacError });
  }
}
