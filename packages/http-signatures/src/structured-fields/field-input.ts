import { StructuredFieldError, type StructuredFieldFailure } from './structured-field-error.ts';

/**
 * The parser's read position in an RFC 8941 field value. Every read is checked against
 * what remains; the field has been checked to be ASCII before the cursor is made, so
 * one character is one octet.
 */
export class FieldInput {
  private at = 0;

  constructor(private readonly text: string) {}

  get offset(): number {
    return this.at;
  }

  isEmpty(): boolean {
    return this.at >= this.text.length;
  }

  /** The next character, or '' at the end. */
  peek(): string {
    return this.at < this.text.length ? this.text[this.at]! : '';
  }

  /** Consumes and returns the next character; fails at the end. */
  consume(): string {
    if (this.at >= this.text.length) this.fail('unexpected-end', 'Input ended early');
    return this.text[this.at++]!;
  }

  /** RFC 8941 §4.2: "Discard any leading SP characters". */
  discardSP(): void {
    while (this.text[this.at] === ' ') this.at++;
  }

  /** RFC 8941 §4.2.2: "Discard any leading OWS characters" (SP and HTAB, RFC 9110 §5.6.3). */
  discardOWS(): void {
    while (this.text[this.at] === ' ' || this.text[this.at] === '\t') this.at++;
  }

  fail(reason: StructuredFieldFailure, message: string): never {
    throw new StructuredFieldError(reason, this.at, message);
  }
}
