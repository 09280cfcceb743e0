const CLASS_PREFIX = 'sideband:';

/** The Class attribute value an Access-Accept carries, tying accounting to the authorization (RFC 2865 §5.25). */
export const classFor = (sessionId: string): string => `${CLASS_PREFIX}${sessionId}`;

/** The session a Class value names, or null for a Class that is not ours. */
export const sessionFromClass = (value: string | null): string | null => (value?.startsWith(CLASS_PREFIX) ? value.slice(CLASS_PREFIX.length) : null);
