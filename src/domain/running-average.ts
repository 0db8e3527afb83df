import { averageCents, type Cents } from './money.js';

/** The seed's running average, exact: an integer sum of cents and a count. */
export class RunningAverage {
  #sum: Cents = 0n;
  #count = 0n;

  add(priceCents: Cents): void {
    this.#sum += priceCents;
    this.#count += 1n;
  }

  get sumCents(): Cents {
    return this.#sum;
  }

  get count(): bigint {
    return this.#count;
  }

  get averageCents(): Cents {
    return averageCents(this.#sum, this.#count);
  }
}
