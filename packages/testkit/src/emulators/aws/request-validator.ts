import type { BotocoreService, BotocoreShape } from './botocore-model.js';

/** One way a request breaks the official model: which member, and why. */
export interface SpecViolation {
  service: string;
  operation: string;
  /** Dotted path of the member, e.g. `ProductionVariants[0].InstanceType`. */
  path: string;
  message: string;
}

/**
 * Checks request inputs against a botocore model: required members, enums, patterns (fully matched, as the
 * services do), min/max of strings, lists, maps and numbers, and unknown members. Patterns JavaScript cannot
 * compile are skipped and counted.
 */
export class RequestValidator {
  private readonly patterns = new Map<string, RegExp | null>();
  /** Patterns that did not compile as JavaScript regular expressions, by shape name. */
  readonly skippedPatterns = new Set<string>();

  constructor(private readonly service: BotocoreService) {}

  /** Violations of one request; `unchecked` top-level members are left out (an XML payload, say). */
  validate(
    operation: string,
    input: Record<string, unknown>,
    unchecked: readonly string[] = [],
  ): SpecViolation[] {
    const op = this.service.operations[operation];
    if (op === undefined) {
      return [{ service: this.service.id, operation, path: '', message: 'no such operation in the model' }];
    }
    const violations: SpecViolation[] = [];
    if (op.input !== undefined) {
      const report = (path: string, message: string): void => {
        if (!unchecked.includes(path.split(/[.[{]/)[0] ?? path)) {
          violations.push({ service: this.service.id, operation, path, message });
        }
      };
      this.check(op.input.shape, input, '', report);
    }
    return violations;
  }

  private check(
    shapeName: string,
    value: unknown,
    path: string,
    report: (path: string, message: string) => void,
  ): void {
    const shape = this.service.shapes[shapeName];
    if (shape === undefined || value === undefined || value === null) return;
    const where = path === '' ? '(input)' : path;
    switch (shape.type) {
      case 'structure':
        this.checkStructure(shape, value, path, report);
        return;
      case 'list': {
        if (!Array.isArray(value)) {
          report(where, `expected a list, got ${typeof value}`);
          return;
        }
        this.checkRange(shape, value.length, where, 'items', report);
        value.forEach((item, i) => this.check(shape.member?.shape ?? '', item, `${path}[${i}]`, report));
        return;
      }
      case 'map': {
        if (typeof value !== 'object' || Array.isArray(value)) {
          report(where, `expected a map, got ${typeof value}`);
          return;
        }
        const entries = Object.entries(value as Record<string, unknown>);
        this.checkRange(shape, entries.length, where, 'entries', report);
        for (const [key, item] of entries) {
          this.check(shape.key?.shape ?? '', key, `${path}{${key}}`, report);
          this.check(shape.value?.shape ?? '', item, `${path}.${key}`, report);
        }
        return;
      }
      case 'string': {
        if (typeof value !== 'string') {
          report(where, `expected a string, got ${typeof value}`);
          return;
        }
        if (shape.enum !== undefined && !shape.enum.includes(value)) {
          report(where, `${JSON.stringify(value)} is not one of ${shape.enum.join(', ')}`);
        }
        this.checkRange(shape, [...value].length, where, 'characters', report);
        if (shape.pattern !== undefined) {
          const regex = this.regex(shapeName, shape.pattern);
          if (regex !== null && !regex.test(value)) {
            report(where, `${JSON.stringify(value)} does not match the pattern ${shape.pattern}`);
          }
        }
        return;
      }
      case 'integer':
      case 'long':
      case 'double':
      case 'float': {
        if (typeof value !== 'number' || Number.isNaN(value)) {
          report(where, `expected a number, got ${JSON.stringify(value)}`);
          return;
        }
        if ((shape.type === 'integer' || shape.type === 'long') && !Number.isInteger(value)) {
          report(where, `expected an integer, got ${value}`);
        }
        if (shape.min !== undefined && value < shape.min)
          report(where, `${value} is below the minimum ${shape.min}`);
        if (shape.max !== undefined && value > shape.max)
          report(where, `${value} is above the maximum ${shape.max}`);
        return;
      }
      case 'boolean':
        if (typeof value !== 'boolean') report(where, `expected a boolean, got ${JSON.stringify(value)}`);
        return;
      case 'timestamp':
        if (typeof value !== 'number' && typeof value !== 'string') report(where, 'expected a timestamp');
        return;
      default:
        return; // blob: any bytes
    }
  }

  private checkStructure(
    shape: BotocoreShape,
    value: unknown,
    path: string,
    report: (path: string, message: string) => void,
  ): void {
    const where = path === '' ? '(input)' : path;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      report(where, `expected a structure, got ${Array.isArray(value) ? 'a list' : typeof value}`);
      return;
    }
    const fields = value as Record<string, unknown>;
    const members = shape.members ?? {};
    for (const required of shape.required ?? []) {
      if (fields[required] === undefined || fields[required] === null) {
        report(join(path, required), 'is required');
      }
    }
    const present = Object.keys(fields).filter((k) => fields[k] !== undefined && fields[k] !== null);
    if (shape.union === true && present.length > 1) {
      report(where, `a union takes one member, got ${present.join(', ')}`);
    }
    for (const key of present) {
      const member = members[key];
      if (member === undefined) {
        report(join(path, key), 'is not a member of this structure');
        continue;
      }
      this.check(member.shape, fields[key], join(path, key), report);
    }
  }

  private checkRange(
    shape: BotocoreShape,
    size: number,
    where: string,
    unit: string,
    report: (path: string, message: string) => void,
  ): void {
    if (shape.min !== undefined && size < shape.min)
      report(where, `has ${size} ${unit}, fewer than ${shape.min}`);
    if (shape.max !== undefined && size > shape.max)
      report(where, `has ${size} ${unit}, more than ${shape.max}`);
  }

  /** The services match patterns against the whole value; botocore's are mostly unanchored. */
  private regex(shapeName: string, pattern: string): RegExp | null {
    let regex = this.patterns.get(shapeName);
    if (regex !== undefined) return regex;
    regex = compilePattern(pattern);
    if (regex === null) this.skippedPatterns.add(shapeName);
    this.patterns.set(shapeName, regex);
    return regex;
  }
}

/**
 * A botocore pattern as a JavaScript RegExp matching whole values. The models' patterns are Java regular
 * expressions: POSIX classes (`\p{Print}`, `\p{Alnum}`), `\A` and `\z` are translated; Unicode classes
 * (`\p{L}`) need the `u` flag, under which needless escapes (`\_`) are errors, so a pattern without
 * `\p{...}` falls back to no flag. Null when it still does not compile (the caller counts it as skipped).
 */
export function compilePattern(pattern: string): RegExp | null {
  const translated = translateJavaPattern(pattern);
  const flags = /\\p\{/.test(translated) ? ['u'] : ['u', ''];
  for (const flag of flags) {
    try {
      return new RegExp(`^(?:${translated})$`, flag);
    } catch {
      // try the next flags
    }
  }
  return null;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

const POSIX: Record<string, string> = { Print: '\\x20-\\x7E', Alnum: 'a-zA-Z0-9', ASCII: '\\x00-\\x7F' };

/** Java-only syntax → JavaScript: `\A`, `\z`, and POSIX classes inside or outside brackets. */
function translateJavaPattern(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\') {
      const rest = pattern.slice(i);
      const posix = /^\\p\{(Print|Alnum|ASCII)\}/.exec(rest);
      if (posix !== null) {
        const range = POSIX[posix[1] as string] as string;
        out += inClass ? range : `[${range}]`;
        i += posix[0].length - 1;
        continue;
      }
      const next = pattern[i + 1] ?? '';
      if (!inClass && next === 'A') out += '^';
      else if (!inClass && next === 'z') out += '$';
      else out += c + next;
      i++;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return out;
}
