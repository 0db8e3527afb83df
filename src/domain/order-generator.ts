import type { Order } from './order.js';

const PRODUCTS = [
  'Laptop',
  'Phone',
  'Tablet',
  'Monitor',
  'Keyboard',
  'Mouse',
  'Headphones',
  'Camera',
] as const;

/** Ways an order can be deliberately wrong, to exercise the dead-letter path. */
const INVALID_KINDS = ['empty-product', 'zero-price', 'negative-price', 'empty-order-id'] as const;
export type InvalidKind = (typeof INVALID_KINDS)[number];

export interface GeneratedOrder {
  readonly order: Order;
  /** Set when the order was made invalid on purpose. */
  readonly invalid: InvalidKind | undefined;
}

/** mulberry32: tiny, fast and good enough to make reproducible demo data from a seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface OrderGeneratorOptions {
  readonly startOrderId: number;
  readonly invalidRatio: number;
  readonly random: () => number;
  readonly now?: () => number;
}

/** Random orders like the seed's: a product and a price from $10.00 to $999.99. */
export function* generateOrders(options: OrderGeneratorOptions): Generator<GeneratedOrder, never, undefined> {
  const { random } = options;
  const now = options.now ?? Date.now;
  for (let id = options.startOrderId; ; id += 1) {
    const product = PRODUCTS[Math.floor(random() * PRODUCTS.length)] ?? 'Laptop';
    const priceCents = BigInt(1000 + Math.floor(random() * 99_000));
    const valid: Order = { orderId: String(id), product, priceCents, createdAtMs: now() };
    if (random() >= options.invalidRatio) {
      yield { order: valid, invalid: undefined };
      continue;
    }
    const kind = INVALID_KINDS[Math.floor(random() * INVALID_KINDS.length)] ?? 'zero-price';
    yield { order: makeInvalid(valid, kind), invalid: kind };
  }
}

function makeInvalid(order: Order, kind: InvalidKind): Order {
  switch (kind) {
    case 'empty-product':
      return { ...order, product: '' };
    case 'zero-price':
      return { ...order, priceCents: 0n };
    case 'negative-price':
      return { ...order, priceCents: -order.priceCents };
    case 'empty-order-id':
      return { ...order, orderId: '' };
  }
}
