import { createHmac } from 'node:crypto';

/**
 * A merchant's stable name for a subscriber: HMAC of the subscriber id under a secret per
 * merchant, so one merchant's ids cannot be linked with another's and none reveals who
 * the subscriber is.
 */
export function customerPseudonym(merchantSalt: string, subscriberId: string): string {
  return `cus_${createHmac('sha256', Buffer.from(merchantSalt, 'base64')).update(subscriberId).digest('base64url').slice(0, 22)}`;
}
