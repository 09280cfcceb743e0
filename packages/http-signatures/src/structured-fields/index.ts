// @sideband/http-signatures/structured-fields: RFC 8941 structured field values, as RFC 9421 uses them.
export * from './characters.ts';
export * from './field-input.ts';
export * from './parse-bare-item.ts';
export * from './parse-dictionary.ts';
export * from './parse-item.ts';
export * from './parse-parameters.ts';
export * from './serialize-structured-field.ts';
export * from './structured-field-error.ts';
export * from './structured-field-value.ts';
