/** Epoch milliseconds (as the store keeps them) as ISO 8601 text for APIs and CLI output. */
export function toIso(ms: number): string;
export function toIso(ms: number | null): string | null;
export function toIso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
