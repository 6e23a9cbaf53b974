import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { LineReader } from './line-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'modelport-runtime-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Line {
  number: number;
  text: string | null;
  offsetAfter: number;
}

async function readAll(
  content: string,
  from = 0,
  linesBefore = 0,
  bufferBytes = 8,
  maxLineBytes = 1024,
): Promise<Line[]> {
  const path = join(dir, `f${Math.random()}`);
  writeFileSync(path, content);
  const file = await open(path, 'r');
  try {
    const reader = new LineReader(file, from, linesBefore, bufferBytes, maxLineBytes);
    const lines: Line[] = [];
    for (;;) {
      if (!reader.nextLine()) {
        if (!(await reader.fill())) break;
        if (reader.takeOversized()) lines.push({ number: reader.lineNumber, text: null, offsetAfter: -1 });
        continue;
      }
      lines.push({
        number: reader.lineNumber,
        text: reader.buffer.toString('utf8', reader.lineStart, reader.lineEnd),
        offsetAfter: reader.offsetAfterLine,
      });
    }
    return lines;
  } finally {
    await file.close();
  }
}

describe('LineReader', () => {
  it('reads lines across buffer refills, with CRLF and without a final newline', async () => {
    const content = 'first line\r\n\nsecond, longer than the buffer\nlast';
    const lines = await readAll(content);
    expect(lines.map((l) => [l.number, l.text])).toEqual([
      [1, 'first line'],
      [2, ''],
      [3, 'second, longer than the buffer'],
      [4, 'last'],
    ]);
    expect(lines.map((l) => l.offsetAfter)).toEqual([12, 13, 44, content.length]);
  });

  it('resumes from an offset with the line count it had', async () => {
    const content = 'a\nbb\nccc\n';
    expect(await readAll(content, 2, 1)).toEqual([
      { number: 2, text: 'bb', offsetAfter: 5 },
      { number: 3, text: 'ccc', offsetAfter: 9 },
    ]);
  });

  it('reports a line over the limit once and goes on after it', async () => {
    const content = `ok\n${'x'.repeat(100)}\nafter\n${'y'.repeat(100)}`;
    const lines = await readAll(content, 0, 0, 8, 16);
    expect(lines.map((l) => [l.number, l.text])).toEqual([
      [1, 'ok'],
      [2, null],
      [3, 'after'],
      [4, null],
    ]);
    expect(lines[2]?.offsetAfter).toBe(3 + 101 + 6);
  });

  it('keeps multi-byte characters that straddle a refill', async () => {
    const text = 'héllo wörld ✓ ünïcode';
    expect((await readAll(`${text}\n`, 0, 0, 4)).map((l) => l.text)).toEqual([text]);
  });
});
