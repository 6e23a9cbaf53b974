import jsyaml from 'js-yaml';
import type { Document, LineCounter, Node as YamlNode, Pair } from 'yaml';
import type { PathSegment } from './diagnostics.js';
import { loadYamlCst } from './yaml-cst.js';
import type { YamlCst } from './yaml-cst.js';

export interface Position {
  line: number;
  column: number;
}

/**
 * The text of a manifest file, parsed two ways: values with the fast parser (js-yaml, or JSON.parse),
 * and, only when a diagnostic needs a line and column, a full concrete syntax tree with `yaml`. Most
 * manifests are valid, so most runs never pay for the second parse (3× slower, and 100 ms to load).
 */
class ManifestText {
  private cst: { docs: Document.Parsed[]; lines: LineCounter } | undefined;

  constructor(readonly text: string) {}

  tree(): { docs: Document.Parsed[]; lines: LineCounter } {
    this.cst ??= parseCst(this.text);
    return this.cst;
  }
}

let yamlModule: YamlCst | undefined;

function parseCst(text: string): { docs: Document.Parsed[]; lines: LineCounter } {
  yamlModule ??= loadYamlCst();
  const lines = new yamlModule.LineCounter();
  const parsed = yamlModule.parseAllDocuments(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
  });
  return { docs: Array.isArray(parsed) ? (parsed as Document.Parsed[]) : [], lines };
}

/** One YAML/JSON document of a manifest file, able to say where any path of it sits in the text. */
export class ManifestDocument {
  constructor(
    readonly file: string,
    /** Position of the document in the file, counting empty documents. */
    readonly index: number,
    private readonly value: unknown,
    private readonly source: ManifestText,
    readonly syntaxErrors: readonly { message: string; offset: number }[] = [],
  ) {}

  toJS(): unknown {
    return this.value;
  }

  /**
   * Where `path` is. With `key: true` the position of the key of the last segment (for unknown fields).
   * Walks as deep as the path exists, so a missing field points at its nearest existing parent.
   */
  locate(path: readonly PathSegment[], options: { key?: boolean } = {}): Position {
    const { docs } = this.source.tree();
    const doc = docs[this.index];
    if (doc === undefined || yamlModule === undefined) return { line: 1, column: 1 };
    const { isMap, isScalar, isSeq } = yamlModule;
    let node: unknown = doc.contents;
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
    const { line, col } = this.source.tree().lines.linePos(offset);
    return { line, column: col };
  }
}

function rangeStart(node: unknown): number | undefined {
  const maybePair = node as { key?: unknown; value?: unknown; range?: unknown } | null | undefined;
  if (
    maybePair !== null &&
    maybePair !== undefined &&
    'key' in maybePair &&
    'value' in maybePair &&
    !('range' in maybePair)
  ) {
    return rangeStart(maybePair.key);
  }
  const range = (node as YamlNode | null | undefined)?.range;
  return range?.[0];
}

// Anchors and aliases go through `yaml`, which limits alias expansion (a "billion laughs" document
// would otherwise expand exponentially while it is validated and hashed).
const ANCHOR = /(^|[\s,[{:-])&[^\s,\]}]+/m;

/** Parses every document of a YAML or JSON text. Empty documents (a trailing `---`) are dropped. */
export function parseManifestText(file: string, text: string): ManifestDocument[] {
  const source = new ManifestText(text);
  if (!ANCHOR.test(text)) {
    try {
      const values = text.trimStart().startsWith('{')
        ? [JSON.parse(text) as unknown]
        : jsyaml.loadAll(text, undefined, { schema: jsyaml.CORE_SCHEMA });
      return values.flatMap((value, index) =>
        value === null || value === undefined ? [] : [new ManifestDocument(file, index, value, source)],
      );
    } catch {
      // Fall through: the full parser reports every syntax error with its position.
    }
  }
  const { docs } = source.tree();
  return docs.flatMap((doc, index) => {
    if (doc.contents === null && doc.errors.length === 0) return [];
    const errors = doc.errors.map((e) => ({
      message: e.message.split('\n')[0] ?? e.message,
      offset: e.pos[0],
    }));
    let value: unknown;
    if (errors.length === 0) {
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (error) {
        errors.push({ message: (error as Error).message, offset: doc.range[0] });
      }
    }
    return [new ManifestDocument(file, index, value, source, errors)];
  });
}
