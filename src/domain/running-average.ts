import { averageCents, type Cents } from './money.js';

/** The seed's running average, exact: an integer sum of cents and a count. */
export class RunningAverage {
  #sum: Cents = 0n;
  // A number counts exactly to 2^53 orders, and costs no BigInt allocation per order.
  #count = 0;

  add(priceCents: Cents): void {
    this.addMany(priceCents, 1);
  }

  /** `count` orders whose prices sum to `sumCents`. */
  addMany(sumCents: Cents, count: number): void {
    this.#sum += sumCents;
    this.#count += count;
  }

  get sumCents(): Cents {
    return this.#sum;
  }

  get count(): bigint {
    return BigInt(this.#count);
  }

  get averageCents(): Cents {
    return averageCents(this.#sum, BigInt(this.#count));
  }
}
