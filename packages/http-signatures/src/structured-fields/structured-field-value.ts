/**
 * The RFC 8941 data model, as far as HTTP Message Signatures and Content-Digest use it.
 * Bare Items are a closed union tagged by `type`, so that serialization dispatches through
 * a `Record` and a new type cannot be forgotten.
 */

// RFC 8941 §3.3
export type BareItem =
  // RFC 8941 §3.3.1
  | { readonly type: 'integer'; readonly value: number }
  // RFC 8941 §3.3.2
  | { readonly type: 'decimal'; readonly value: number }
  // RFC 8941 §3.3.3
  | { readonly type: 'string'; readonly value: string }
  // RFC 8941 §3.3.4
  | { readonly type: 'token'; readonly value: string }
  // RFC 8941 §3.3.5
  | { readonly type: 'byte-sequence'; readonly value: Uint8Array }
  // RFC 8941 §3.3.6
  | { readonly type: 'boolean'; readonly value: boolean };

export type BareItemType = BareItem['type'];

/** RFC 8941 §3.1.2: an ordered map from key to Bare Item. */
export type Parameters = ReadonlyMap<string, BareItem>;

/** RFC 8941 §3.3 */
export interface Item {
  readonly kind: 'item';
  readonly value: BareItem;
  readonly params: Parameters;
}

/** RFC 8941 §3.1.1 */
export interface InnerList {
  readonly kind: 'inner-list';
  readonly items: readonly Item[];
  readonly params: Parameters;
}

/** RFC 8941 §3.2: an ordered map from key to member value. */
export type Dictionary = ReadonlyMap<string, Item | InnerList>;

const noParams: Parameters = new Map();

export function item(value: BareItem, params: Parameters = noParams): Item {
  return { kind: 'item', value, params };
}

export function innerList(items: readonly Item[], params: Parameters = noParams): InnerList {
  return { kind: 'inner-list', items, params };
}
