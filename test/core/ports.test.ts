import { errorText } from '../../functions/core/ports';

describe('errorText', () => {
  it('names the error unless it is a plain Error', () => {
    expect(errorText(new Error('socket hang up'))).toBe('socket hang up');
    expect(errorText(new TypeError('x is not a function'))).toBe('TypeError: x is not a function');
    expect(errorText(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))).toBe('ThrottlingException: Rate exceeded');
  });

  it('keeps only the name of a SyntaxError (JSON.parse quotes the text, which may hold secrets)', () => {
    expect(errorText(new SyntaxError('Unexpected token in JSON: {"ecwid.client.secret":"s3cr3t"'))).toBe('SyntaxError');
  });

  it('reads error-like objects from another realm, and anything else as text', () => {
    expect(errorText({ name: 'AbortError', message: 'aborted' })).toBe('AbortError: aborted');
    expect(errorText('boom')).toBe('boom');
    expect(errorText(undefined)).toBe('undefined');
  });
});
