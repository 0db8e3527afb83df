import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { abortedRecordsStayHidden } from '../../src/adapters/kafka/read-committed-guard.js';

interface Msg {
  offset: string;
  key: Buffer | null;
  isControlRecord: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}
type Filter = (input: {
  messages: Msg[];
  abortedTransactions: { producerId: string; firstOffset: string }[];
}) => Msg[];

const filter = createRequire(import.meta.url)('kafkajs/src/consumer/filterAbortedMessages') as Filter;
const data = (offset: number, producerId: string, key = `k${offset}`): Msg => ({
  offset: String(offset),
  key: Buffer.from(key),
  isControlRecord: false,
  batchContext: { producerId, inTransaction: true },
});
const abortMarker = (offset: number, producerId: string): Msg => ({
  offset: String(offset),
  key: Buffer.from([0, 0, 0, 0]),
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});
const offsetsOf = (messages: Msg[]) => messages.map((m) => Number(m.offset));

describe('read_committed filtering of the installed kafkajs (patches/kafkajs+2.2.4.patch)', () => {
  it('when the guard replays aborted transactions listed out of order, then it reports the client safe', () => {
    assert.equal(abortedRecordsStayHidden(), true);
  });

  it('when a fetch starts after two aborted transactions began, then records of both are hidden from the first one on', () => {
    // A fetch from offset 5: both transactions began earlier, and b's record comes first.
    const visible = filter({
      messages: [data(5, 'b'), data(6, 'a'), abortMarker(7, 'a'), abortMarker(8, 'b'), data(9, 'c')],
      abortedTransactions: [
        { producerId: 'a', firstOffset: '0' },
        { producerId: 'b', firstOffset: '2' },
      ],
    });
    assert.deepEqual(offsetsOf(visible), [7, 8, 9]);
  });

  it('when a producer commits after its aborted transaction, then only the aborted records are hidden', () => {
    const visible = filter({
      messages: [data(0, 'a'), abortMarker(1, 'a'), data(2, 'a')],
      abortedTransactions: [{ producerId: 'a', firstOffset: '0' }],
    });
    assert.deepEqual(offsetsOf(visible), [1, 2]);
  });

  it('when an aborted data record has the abort marker key, then it is still hidden (only control records end a transaction)', () => {
    const visible = filter({
      messages: [data(0, 'a', '\u0000\u0000\u0000\u0000'), data(1, 'a'), abortMarker(2, 'a')],
      abortedTransactions: [{ producerId: 'a', firstOffset: '0' }],
    });
    assert.deepEqual(offsetsOf(visible), [2]);
  });
});
