// google.protobuf.Value ⇄ JSON. The SDK's helpers.fromValue fails on lists, so both ways are done here.

export interface ValueLike {
  kind?: string | null;
  nullValue?: unknown;
  numberValue?: number | null;
  stringValue?: string | null;
  boolValue?: boolean | null;
  structValue?: { fields?: Record<string, ValueLike> | null } | null;
  listValue?: { values?: ValueLike[] | null } | null;
}

export function toValue(json: unknown): ValueLike {
  if (json === null || json === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof json === 'number') return { numberValue: json };
  if (typeof json === 'string') return { stringValue: json };
  if (typeof json === 'boolean') return { boolValue: json };
  if (Array.isArray(json)) return { listValue: { values: json.map(toValue) } };
  return {
    structValue: {
      fields: Object.fromEntries(
        Object.entries(json as Record<string, unknown>).map(([k, v]) => [k, toValue(v)]),
      ),
    },
  };
}

export function fromValue(value: ValueLike | null | undefined): unknown {
  if (value === null || value === undefined) return null;
  // Decoded messages say which member is set in `kind` (the others read as their defaults).
  const kind =
    value.kind ??
    Object.keys(value).find((k) => k.endsWith('Value') && (value as Record<string, unknown>)[k] != null);
  switch (kind) {
    case 'numberValue':
      return value.numberValue ?? 0;
    case 'stringValue':
      return value.stringValue ?? '';
    case 'boolValue':
      return value.boolValue ?? false;
    case 'structValue':
      return Object.fromEntries(
        Object.entries(value.structValue?.fields ?? {}).map(([k, v]) => [k, fromValue(v)]),
      );
    case 'listValue':
      return (value.listValue?.values ?? []).map(fromValue);
    default:
      return null;
  }
}
