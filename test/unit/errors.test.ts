import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  BrokerUnavailableError,
  classifyError,
  DeadLetterUnwritableError,
  DecodeError,
  MAX_ERROR_MESSAGE_CHARS,
  PermanentDownstreamError,
  RegistryAuthError,
  ERROR_DOCS,
  InvalidOrderError,
  RegistryUnavailableError,
  TransientDownstreamError,
  UnknownSchemaError,
  WireFormatError,
} from '../../src/errors.js';

describe('error classification', () => {
  it('when the failure is about the record itself, then it is dead-lettered', () => {
    for (const error of [
      new WireFormatError('x'),
      new UnknownSchemaError('x'),
      new DecodeError('x'),
      new InvalidOrderError('x'),
      new PermanentDownstreamError('x'),
    ]) {
      assert.equal(classifyError(error).handling, 'dead-letter', error.name);
    }
  });

  it('when the processing step fails transiently, then it is retried', () => {
    assert.equal(classifyError(new TransientDownstreamError('x')).handling, 'retry');
  });

  it('when a dependency is down, then the record waits for it, and the error says which one', () => {
    for (const [error, dependency] of [
      [new RegistryUnavailableError('x'), 'registry'],
      [new RegistryAuthError('x'), 'registry'],
      [new BrokerUnavailableError('x'), 'broker'],
      [new DeadLetterUnwritableError('x'), 'dlq'],
    ] as const) {
      const c = classifyError(error);
      assert.deepEqual([c.handling, c.dependency], ['wait', dependency], error.name);
    }
  });

  it('when an unknown error escapes, then it is retried so the budget decides', () => {
    const c = classifyError(new TypeError('boom'));
    assert.deepEqual(
      [c.code, c.handling, c.errorClass, c.message],
      ['KOS_UNEXPECTED', 'retry', 'TypeError', 'boom'],
    );
    assert.equal(classifyError('a string').message, 'a string');
  });

  it('when a message is huge (a hostile id inside it), then the classification carries a bounded one', () => {
    const c = classifyError(new DecodeError(`bad ${'x'.repeat(1_000_000)}`));
    assert.ok(c.message.length <= MAX_ERROR_MESSAGE_CHARS, `${c.message.length} chars`);
    assert.match(c.message, /\[1000004 chars\]$/);
  });

  it('when docs/reference.md is read, then every error code is documented there', () => {
    const reference = readFileSync(new URL('../../docs/reference.md', import.meta.url), 'utf8');
    for (const code of Object.keys(ERROR_DOCS)) assert.match(reference, new RegExp(`\\b${code}\\b`), code);
  });
});
