import { afterEach, describe, expect, it, vi } from 'vitest';
import { filterSdkWarnings, isSdkNodeVersionWarning } from './warnings.js';

const SDK_MESSAGE = `NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)
versions published after the first week of January 2027
will require node >=22. You are running node v20.20.2.`;

afterEach(() => vi.restoreAllMocks());

describe('filterSdkWarnings', () => {
  it("keeps the AWS SDK's Node-version notice from Node's printer, says it once with verbose, and lets other warnings through", () => {
    const original = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const lines: string[] = [];
    const filter = filterSdkWarnings((line) => lines.push(line));
    try {
      process.emitWarning(SDK_MESSAGE);
      expect(lines).toEqual([]); // not verbose: nothing at all
      filter.verbose = true;
      process.emitWarning(SDK_MESSAGE);
      process.emitWarning('The AWS SDK for JavaScript (v3) will no longer support Node.js 18', {
        type: 'NodeDeprecationWarning',
      });
      expect(lines).toEqual([
        expect.stringMatching(
          /^modelport: note from the AWS SDK: The AWS SDK for JavaScript \(v3\) versions published after the first week of January 2027 will require node >=22 \(this is Node v\d+/,
        ),
      ]);
      process.emitWarning('something else', 'DeprecationWarning', 'DEP0999');
      process.emitWarning(new Error('a warning object'));
      expect(original.mock.calls).toEqual([
        ['something else', 'DeprecationWarning', 'DEP0999'],
        [expect.objectContaining({ message: 'a warning object' })],
      ]);
    } finally {
      filter.restore();
    }
    expect(process.emitWarning).toBe(original);
  });

  it('recognises the notice by its name, type or message, and only from the AWS SDK', () => {
    expect(isSdkNodeVersionWarning(SDK_MESSAGE)).toBe(true);
    expect(
      isSdkNodeVersionWarning('The AWS SDK for JavaScript (v3) will no longer support Node.js 16.x', {
        type: 'NodeDeprecationWarning',
      }),
    ).toBe(true);
    expect(isSdkNodeVersionWarning('NodeDeprecationWarning: some other library')).toBe(false);
    expect(isSdkNodeVersionWarning('Buffer() is deprecated', 'DeprecationWarning')).toBe(false);
  });
});
