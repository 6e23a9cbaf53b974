import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Document, Node as YamlNode, Pair } from 'yaml';
import type { PathSegment } from './diagnostics.js';

export interface Position {
  line: number;
  column: number;
}

/** One YAML/JSON document of a manifest file, able to say where any path of it sits in the text. */
export class ManifestDocument {
  constructor(
    readonly file: string,
    readonly index: number,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  get syntaxErrors(): readonly { message: string; offset: number }[] {
    return this.doc.errors.map((e) => ({ message: e.message.split('\n')[0] ?? e.message, offset: e.pos[0] }));
  }

  toJS(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 });
  }

  /**
   * Where `path` is. With `key: true` the position of the key of the last segment (for unknown fields).
   * Walks as deep as the path exists, so a missing field points at its nearest existing parent.
   */
  locate(path: readonly PathSegment[], options: { key?: boolean } = {}): Position {
    let node: unknown = this.doc.contents;
    let best: number = rangeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      const segment = path[i];
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p: Pair) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (pair === undefined) break;
        const keyStart = rangeStart(pair.key);
        if (last && options.key === true && keyStart !== undefined) {
          best = keyStart;
          break;
        }
        node = pair.value;
        best = rangeStart(node) ?? keyStart ?? best;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment];
        if (item === undefined) break;
        node = item;
        best = rangeStart(node) ?? best;
      } else {
        break;
      }
    }
    return this.position(best);
  }

  position(offset: number): Position {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }
}

function rangeStart(node: unknown): number | undefined {
  if (isPair(node)) return rangeStart(node.key);
  const range = (node as YamlNode | null | undefined)?.range;
  return range?.[0];
}

/** Parses every document of a YAML or JSON text. Empty documents (a trailing `---`) are dropped. */
export function parseManifestText(file: string, text: string): ManifestDocument[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  return list
    .filter((doc) => doc.contents !== null || doc.errors.length > 0)
    .map((doc, index) => new ManifestDocument(file, index, doc as Document.Parsed, lines));
}
