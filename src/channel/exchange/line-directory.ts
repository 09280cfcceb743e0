import type { ExchangeLine } from './exchange-options.ts';

/** The exchange's subscribers: who owns which number, with which password. */
export class LineDirectory {
  private readonly byUsername: ReadonlyMap<string, ExchangeLine>;
  private readonly byNumber: ReadonlyMap<string, ExchangeLine>;

  constructor(lines: readonly ExchangeLine[]) {
    this.byUsername = new Map(lines.map((l) => [l.username, l]));
    this.byNumber = new Map(lines.flatMap((l) => l.numbers.map((n) => [n, l] as const)));
  }

  password(username: string): string | undefined {
    return this.byUsername.get(username)?.password;
  }

  /** Does the line authenticated as `username` own `number`? */
  owns(username: string, number: string): boolean {
    return this.byUsername.get(username)?.numbers.includes(number) ?? false;
  }

  ownerOf(number: string): ExchangeLine | undefined {
    return this.byNumber.get(number);
  }

  /** A special access number: its calls are billed to its owner, the callee. */
  isReverseCharge(number: string): boolean {
    return this.byNumber.get(number)?.reverseCharge.includes(number) ?? false;
  }
}
