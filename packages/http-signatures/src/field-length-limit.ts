/**
 * The longest Signature, Signature-Input or Content-Digest value the verifier reads, in
 * characters. An Ed25519 signature with a dozen covered components and the usual parameters
 * fits in under 1 KiB; the cap keeps a hostile field from costing more than a bounded parse
 * (undici caps header size the same way).
 */
export const MAX_FIELD_LENGTH = 8 * 1024;
