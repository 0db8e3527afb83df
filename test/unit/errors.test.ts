import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  classifyError,
  DecodeError,
  ERROR_DOCS,
  InvalidOrderError,
  RegistryUnavailableError,
  TransientDownstreamError,
  UnknownSchemaError,
  WireFormatError,
} from '../../src/errors.js';

describe('error classification', () => {
  it('when the failure is about the record itself, then it is permanent', () => {
    for (const error of [
      new WireFormatError('x'),
      new UnknownSchemaError('x'),
      new DecodeError('x'),
      new InvalidOrderError('x'),
    ]) {
      assert.equal(classifyError(error).retriable, false, error.name);
    }
  });

  it('when the failure is about something outside the record, then it is transient', () => {
    assert.equal(classifyError(new RegistryUnavailableError('x')).retriable, true);
    assert.equal(classifyError(new TransientDownstreamError('x')).retriable, true);
  });

  it('when an unknown error escapes, then it is treated as transient so the budget decides', () => {
    const c = classifyError(new TypeError('boom'));
    assert.deepEqual(
      [c.code, c.retriable, c.errorClass, c.message],
      ['KOS_UNEXPECTED', true, 'TypeError', 'boom'],
    );
    assert.equal(classifyError('a string').message, 'a string');
  });

  it('when the README is read, then every error code is documented there', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const code of Object.keys(ERROR_DOCS)) assert.match(readme, new RegExp(`\\b${code}\\b`), code);
  });
});
