/**
 * Process warnings the CLI keeps from users' terminals: the AWS SDK's notice that its future versions will
 * need a newer Node (NodeVersionSupportWarning / NodeDeprecationWarning, on Node 20, which modelport
 * supports). It is said once at most, as a modelport line, and only with --verbose. Every other warning
 * goes through Node's own emitWarning unchanged.
 */
export interface WarningFilter {
  /** --verbose of the running command: whether the SDK's notice is said. */
  verbose: boolean;
  restore(): void;
}

type EmitWarning = typeof process.emitWarning;

export function filterSdkWarnings(write: (line: string) => void): WarningFilter {
  const original: EmitWarning = process.emitWarning;
  let said = false;
  const filter: WarningFilter = {
    verbose: false,
    restore: () => {
      if (process.emitWarning === replacement) process.emitWarning = original;
    },
  };
  const replacement = function (this: unknown, warning: string | Error, ...rest: unknown[]): void {
    if (!isSdkNodeVersionWarning(warning, rest[0])) {
      (original as (...args: unknown[]) => void).call(process, warning, ...rest);
      return;
    }
    if (filter.verbose && !said) {
      said = true;
      write(`modelport: ${sdkNotice(warning)}`);
    }
  } as EmitWarning;
  process.emitWarning = replacement;
  return filter;
}

const NAMES = /^(NodeVersionSupportWarning|NodeDeprecationWarning)\b/;

/** The AWS SDK's Node-version notice, however it is emitted (a message, a type, an Error's name). */
export function isSdkNodeVersionWarning(warning: string | Error, second?: unknown): boolean {
  const message = typeof warning === 'string' ? warning : warning.message;
  const name = typeof warning === 'string' ? '' : warning.name;
  const type =
    typeof second === 'string'
      ? second
      : typeof second === 'object' && second !== null
        ? String((second as { type?: unknown }).type ?? '')
        : '';
  const named = NAMES.test(message) || NAMES.test(name) || NAMES.test(type);
  return named && /AWS SDK|aws-sdk/i.test(message);
}

/** One line: the SDK's first sentence, and the Node that runs. */
function sdkNotice(warning: string | Error): string {
  const message = (typeof warning === 'string' ? warning : warning.message)
    .replace(NAMES, '')
    .replace(/^:\s*/, '')
    .replace(/\s+/g, ' ')
    .trim();
  const first = /^[^.]*(?:\.\d[^.]*)*\./.exec(message)?.[0] ?? message;
  return `note from the AWS SDK: ${first.replace(/\.$/, '')} (this is Node ${process.version}; modelport supports Node >= 20)`;
}
