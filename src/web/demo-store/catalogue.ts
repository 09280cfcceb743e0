/** What the demo store sells. Prices straddle the demo subscriber's auto-approve threshold (50.00), so one purchase waits for approval. */
export interface Product {
  sku: string;
  name: string;
  description: string;
  /** Minor units of `currency`. */
  price: number;
  currency: string;
}

export const catalogue: readonly Product[] = [
  { sku: 'field-guide', name: 'Field guide to garden birds', description: 'A pocket book, 240 pages.', price: 1_250, currency: 'EUR' },
  { sku: 'headphones', name: 'Wired headphones', description: 'Closed-back, 1.5 m cable.', price: 4_900, currency: 'EUR' },
  { sku: 'rail-pass', name: 'Weekend rail pass', description: 'Two days of regional trains. Above the auto-approve threshold: you confirm it in your portal.', price: 8_900, currency: 'EUR' },
];
