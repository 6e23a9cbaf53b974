import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { specHash } from '../hash.js';
import { findTodos } from '../migrate/todo.js';
import type { Diagnostic } from './diagnostics.js';
import type { ModelFileOptions } from './model-file.js';
import { checkModelFile } from './model-file.js';
import { formatPath } from './diagnostics.js';
import type { ModelportManifest } from './manifest.generated.js';
import { validateAgainstSchema } from './schema-validator.js';
import type { SemanticContext } from './semantic.js';
import { checkSemantics } from './semantic.js';
import type { ManifestDocument } from './source.js';
import { parseManifestText } from './source.js';
import type { LoadedManifest } from './types.js';
import { DEFAULT_PROVIDER } from './types.js';

/** Where documents come from: relative paths in them are resolved against `baseDir`. */
export interface ManifestOrigin {
  file: string;
  baseDir: string;
  /**
   * Check that a local spec.model.uri names an existing file or folder (and, with `content`, that an ONNX
   * file is one). Off unless asked: texts validated in memory may name files that are elsewhere.
   */
  modelFiles?: ModelFileOptions;
}

export interface LoadResult {
  manifests: LoadedManifest[];
  /** Errors and warnings of every document, in file order. */
  diagnostics: Diagnostic[];
}

/**
 * Reads a YAML or JSON manifest file (one or more documents) and validates every document; with
 * `modelFiles`, also that a local model file exists (as `Modelport.validate` does).
 */
export async function loadManifestFile(
  path: string,
  ctx: SemanticContext,
  options: { modelFiles?: ModelFileOptions } = {},
): Promise<LoadResult> {
  const read = await readManifestFile(path);
  if ('diagnostics' in read) return { manifests: [], diagnostics: read.diagnostics };
  return validateDocuments(
    read.documents,
    {
      file: read.file,
      baseDir: dirname(read.file),
      ...(options.modelFiles === undefined ? {} : { modelFiles: options.modelFiles }),
    },
    ctx,
  );
}

/** Reads and parses a manifest file, or says why it cannot be read. */
export async function readManifestFile(
  path: string,
): Promise<{ file: string; documents: ManifestDocument[] } | { diagnostics: Diagnostic[] }> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      diagnostics: [
        {
          severity: 'error',
          code: 'file.unreadable',
          file: path,
          path: '(file)',
          line: 1,
          column: 1,
          message: code === 'ENOENT' ? 'no such file' : `cannot read the file (${code ?? String(error)})`,
          hint: 'check the path; manifests are YAML or JSON files',
        },
      ],
    };
  }
  return { file, documents: parseManifestText(file, text) };
}

export function loadManifestText(text: string, origin: ManifestOrigin, ctx: SemanticContext): LoadResult {
  return validateDocuments(parseManifestText(origin.file, text), origin, ctx);
}

/** Provider ids the documents name (before validation), so their capabilities can be loaded first. */
export function referencedProviders(documents: readonly ManifestDocument[]): string[] {
  const ids = new Set<string>();
  for (const document of documents) {
    if (document.syntaxErrors.length > 0) continue;
    const value = document.toJS() as { kind?: unknown; spec?: { target?: { provider?: unknown } } } | null;
    if (value === null || typeof value !== 'object' || value.kind === 'EdgePackage') continue;
    const provider = value.spec?.target?.provider;
    ids.add(typeof provider === 'string' ? provider : DEFAULT_PROVIDER);
  }
  return [...ids];
}

export function validateDocuments(
  documents: readonly ManifestDocument[],
  origin: ManifestOrigin,
  ctx: SemanticContext,
): LoadResult {
  const manifests: LoadedManifest[] = [];
  const diagnostics: Diagnostic[] = [];
  if (documents.length === 0) {
    diagnostics.push({
      severity: 'error',
      code: 'file.empty',
      file: displayPath(origin.file),
      path: '(document)',
      line: 1,
      column: 1,
      message: 'the file holds no manifest',
      hint: 'write at least apiVersion, kind, metadata and spec',
    });
  }
  for (const document of documents) {
    const result = validateDocument(document, origin, ctx);
    diagnostics.push(...result.diagnostics);
    if (result.manifest !== undefined) manifests.push(result.manifest);
  }
  checkDuplicateNames(manifests, diagnostics);
  return { manifests, diagnostics };
}

/** Validates one parsed document; returns the manifest only when it has no errors. */
export function validateDocument(
  document: ManifestDocument,
  origin: ManifestOrigin,
  ctx: SemanticContext,
): { manifest?: LoadedManifest; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const file = displayPath(origin.file);
  const syntax = document.syntaxErrors;
  if (syntax.length > 0) {
    for (const error of syntax) {
      const { line, column } = document.position(error.offset);
      diagnostics.push({
        severity: 'error',
        code: 'syntax',
        file,
        path: '(syntax)',
        line,
        column,
        message: error.message,
        hint: 'fix the YAML/JSON syntax at this position',
      });
    }
    return { diagnostics };
  }
  const value = document.toJS();
  // Values `modelport migrate` left for the user come first: the schema would only say "bad pattern".
  for (const todo of findTodos(value)) {
    const { line, column } = document.locate(todo.path);
    diagnostics.push({
      severity: 'error',
      code: 'migrate.todo',
      file,
      path: formatPath(todo.path),
      line,
      column,
      message: `left to fill in by \`modelport migrate\`: ${todo.what}`,
      hint: 'replace the TODO value (or pass --set <path>=<value> to `modelport migrate`)',
    });
  }
  if (diagnostics.length > 0) return { diagnostics };
  for (const issue of validateAgainstSchema(value)) {
    const { line, column } = document.locate(issue.path, { key: issue.atKey });
    diagnostics.push({
      severity: 'error',
      code: issue.code,
      file,
      path: formatPath(issue.path),
      line,
      column,
      message: issue.message,
      ...(issue.hint === undefined ? {} : { hint: issue.hint }),
    });
  }
  if (diagnostics.length > 0) return { diagnostics };

  const manifest = value as ModelportManifest;
  for (const issue of checkSemantics(manifest, ctx)) {
    const { line, column } = document.locate(issue.path, { key: issue.atKey ?? false });
    diagnostics.push({
      severity: issue.severity,
      code: issue.code,
      file,
      path: formatPath(issue.path),
      line,
      column,
      message: issue.message,
      ...(issue.hint === undefined ? {} : { hint: issue.hint }),
    });
  }
  const modelProblem =
    origin.modelFiles === undefined
      ? undefined
      : checkModelFile(manifest.spec.model, origin.baseDir, origin.modelFiles);
  if (modelProblem !== undefined) {
    const { line, column } = document.locate(modelProblem.path);
    diagnostics.push({
      severity: modelProblem.severity,
      code: modelProblem.code,
      file,
      path: formatPath(modelProblem.path),
      line,
      column,
      message: modelProblem.message,
      ...(modelProblem.hint === undefined ? {} : { hint: modelProblem.hint }),
    });
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
  const loaded: LoadedManifest = {
    manifest,
    file: origin.file,
    baseDir: origin.baseDir,
    document,
    provider: manifest.kind === 'EdgePackage' ? 'edge' : (manifest.spec.target?.provider ?? DEFAULT_PROVIDER),
    // Hashing the spec costs more than validating it; only planning needs it.
    get specHash(): string {
      const value = specHash(manifest.spec);
      Object.defineProperty(this, 'specHash', { value, enumerable: true });
      return value;
    },
    warnings: diagnostics,
  };
  return {
    manifest: loaded,
    diagnostics,
  };
}

/** A path relative to the working directory when that is shorter: error lines stay readable. */
export function displayPath(file: string): string {
  if (!isAbsolute(file)) return file;
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

function checkDuplicateNames(manifests: LoadedManifest[], diagnostics: Diagnostic[]): void {
  const seen = new Map<string, LoadedManifest>();
  for (const loaded of manifests) {
    const key = `${loaded.manifest.kind}/${loaded.manifest.metadata.name}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, loaded);
      continue;
    }
    const { line, column } = loaded.document.locate(['metadata', 'name']);
    const firstLine = first.document.locate(['metadata', 'name']).line;
    diagnostics.push({
      severity: 'error',
      code: 'semantic.duplicateName',
      file: displayPath(loaded.file),
      path: 'metadata.name',
      line,
      column,
      message: `${key} is declared twice in this file (first at line ${firstLine})`,
      hint: 'give each document of a kind its own metadata.name',
    });
  }
}
