import { averageCents, type Cents } from './money.js';

/** The seed's running average, exact: an integer sum of cents and a count. */
export class RunningAverage {
  #sum: Cents = 0n;
  // A number counts exactly to 2^53 orders, and costs no BigInt allocation per order.
  #count = 0;

  add(priceCents: Cents): void {
    this.#sum += priceCents;
    this.#count += 1;
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
