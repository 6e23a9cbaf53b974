import './ort-env.js';
import * as ort from 'onnxruntime-node';

import { codecFor, describeValue, type ElementCodec, type TensorStore } from './element-codecs.js';
import { RequestError } from './errors.js';
import { formatShape, quoteList, type TensorSpec } from './signature.js';

/** Deepest nesting read off an instance when the model does not declare the input's rank. */
const MAX_RANK = 32;

/** A row whose variable dimensions differ from the rows already in the batch (they cannot share a tensor). */
export class RaggedRowError extends RequestError {
  override readonly name = 'RaggedRowError';
}

/**
 * True when instances can be stacked along a leading batch dimension: every input declares a variable
 * first dimension (or no shape at all). Models with fixed leading dimensions take one instance per run.
 */
export function isBatchable(inputs: readonly TensorSpec[]): boolean {
  return inputs.every((s) => s.shape === undefined || (s.shape.length > 0 && s.shape[0] === -1));
}

class InputSlot {
  readonly codec: ElementCodec;
  /** Declared dimensions of one instance (-1 variable), or undefined when the model does not say. */
  readonly declared: readonly number[] | undefined;
  readonly shapeText: string;
  /** Dimensions of one instance in the current batch, fixed by its first row. */
  dims: number[] | undefined;
  rowSize = 0;
  store: TensorStore | undefined;

  constructor(
    readonly spec: TensorSpec,
    batched: boolean,
  ) {
    this.codec = codecFor(spec.dtype);
    this.declared = spec.shape === undefined ? undefined : batched ? spec.shape.slice(1) : spec.shape;
    this.shapeText = formatShape(spec.shape);
    if (this.declared !== undefined && !this.declared.includes(-1)) this.setDims([...this.declared]);
  }

  setDims(dims: number[]): void {
    this.dims = dims;
    this.rowSize = dims.reduce((a, b) => a * b, 1);
  }

  setDimsOrClear(dims: number[] | undefined): void {
    if (dims === undefined) this.dims = undefined;
    else this.setDims(dims);
  }

  get fixed(): boolean {
    return this.declared !== undefined && !this.declared.includes(-1);
  }
}

/**
 * Validates instances against the input specs and writes them straight into one typed array per input,
 * so that a whole request (or micro-batch) goes through a single `session.run`.
 * Errors are RequestErrors whose message names the input and what was expected; the caller adds which
 * instance (or line) it was.
 */
export class BatchEncoder {
  private readonly slots: InputSlot[];
  private readonly single: InputSlot | undefined;
  private rows = 0;

  constructor(
    inputs: readonly TensorSpec[],
    private capacityRows: number,
    readonly batched = isBatchable(inputs),
  ) {
    if (!batched && capacityRows !== 1)
      throw new Error('a model without a batch dimension takes one instance per run');
    this.slots = inputs.map((spec) => new InputSlot(spec, batched));
    this.single = this.slots.length === 1 ? this.slots[0] : undefined;
  }

  get count(): number {
    return this.rows;
  }

  get capacity(): number {
    return this.capacityRows;
  }

  get full(): boolean {
    return this.rows >= this.capacityRows;
  }

  /** Makes room for `extra` more rows, keeping the rows already written. */
  reserve(extra: number): void {
    const needed = this.rows + extra;
    if (needed <= this.capacityRows) return;
    if (!this.batched) throw new Error('a model without a batch dimension takes one instance per run');
    this.capacityRows = Math.max(needed, this.capacityRows * 2);
    for (const slot of this.slots) {
      const old = slot.store;
      if (old === undefined) continue;
      slot.store = undefined;
      const store = this.ensureStore(slot);
      const used = this.rows * slot.rowSize;
      if (Array.isArray(old)) for (let i = 0; i < used; i++) (store as string[])[i] = old[i] as string;
      else (store as typeof old).set(old.subarray(0, used) as never);
    }
  }

  /** Drops the rows after the first `rows` (a request that failed validation half-way). */
  truncate(rows: number): void {
    if (rows >= this.rows) return;
    if (rows === 0) this.reset();
    else this.rows = rows;
  }

  /** Adds one instance: a row of the only input, or an object keyed by input name. */
  add(instance: unknown): void {
    if (this.rows >= this.capacityRows) throw new Error('batch is full');
    const single = this.single;
    if (single !== undefined && !isPlainObject(instance)) {
      this.writeRow(single, instance);
    } else {
      if (!isPlainObject(instance)) {
        throw new RequestError(
          `expected an object keyed by input name (${quoteList(this.slots.map((s) => s.spec.name))}), got ${describeValue(instance)}`,
        );
      }
      for (const key in instance) {
        if (!this.slots.some((s) => s.spec.name === key)) {
          throw new RequestError(
            `unknown input ${JSON.stringify(key)}; the model's inputs are ${quoteList(this.slots.map((s) => s.spec.name))}`,
          );
        }
      }
      // Validate every input before writing any, so a bad instance leaves no partial row behind.
      for (const slot of this.slots) {
        if (!Object.hasOwn(instance, slot.spec.name)) {
          throw new RequestError(`missing input ${JSON.stringify(slot.spec.name)} (shape ${slot.shapeText})`);
        }
      }
      // The first row fixes variable dims; if a later input of it fails, those must be forgotten again.
      const dimsBefore = this.rows === 0 ? this.slots.map((s) => s.dims) : undefined;
      try {
        for (const slot of this.slots) this.writeRow(slot, instance[slot.spec.name]);
      } catch (error) {
        dimsBefore?.forEach((dims, i) => this.slots[i]?.setDimsOrClear(dims));
        throw error;
      }
    }
    this.rows++;
  }

  /**
   * For the byte-level fast path of the file runner: the float array to write the next row of the only
   * input into, at `nextRowOffset`, or undefined when the fast path does not apply.
   */
  directFloatStore(): Float32Array | Float64Array | undefined {
    const slot = this.single;
    if (slot === undefined || slot.dims === undefined || this.rows >= this.capacityRows) return undefined;
    const store = this.ensureStore(slot);
    return store instanceof Float32Array || store instanceof Float64Array ? store : undefined;
  }

  get rowSize(): number {
    return this.single?.rowSize ?? -1;
  }

  get nextRowOffset(): number {
    return this.rows * (this.single?.rowSize ?? 0);
  }

  /** Accepts the row written through `directFloatStore`. */
  commitDirectRow(): void {
    this.rows++;
  }

  /**
   * Appends `count` rows already parsed into one typed array (the HTTP scanner's fast path), for a model
   * whose only input is a float tensor of fixed row dims; the caller has checked the layout.
   */
  addRows(values: Float32Array | Float64Array, count: number): void {
    const slot = this.single;
    if (slot === undefined || slot.dims === undefined)
      throw new Error('addRows: not a single fixed-size input');
    this.reserve(count);
    const store = this.ensureStore(slot) as Float32Array | Float64Array;
    const length = count * slot.rowSize;
    store.set(values.length === length ? values : values.subarray(0, length), this.rows * slot.rowSize);
    this.rows += count;
  }

  /** Tensors for the rows added so far (views over the stores, no copy). */
  toFeeds(): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    const n = this.rows;
    for (const slot of this.slots) {
      const dims = slot.dims ?? [];
      const store = this.ensureStore(slot);
      const length = n * slot.rowSize;
      const data = Array.isArray(store) ? store.slice(0, length) : store.subarray(0, length);
      feeds[slot.spec.name] = new ort.Tensor(
        slot.codec.dtype as 'float32',
        data as Float32Array,
        this.batched ? [n, ...dims] : dims,
      );
    }
    return feeds;
  }

  /** Empties the batch; variable dimensions are fixed again by the next first row. */
  reset(): void {
    this.rows = 0;
    for (const slot of this.slots) if (!slot.fixed) slot.dims = undefined;
  }

  private ensureStore(slot: InputSlot): TensorStore {
    const needed = this.capacityRows * slot.rowSize;
    if (slot.store === undefined || slot.store.length < needed) slot.store = slot.codec.allocate(needed);
    return slot.store;
  }

  private writeRow(slot: InputSlot, value: unknown): void {
    let fresh = false;
    if (slot.dims === undefined) {
      slot.setDims(this.inferDims(slot, value));
      fresh = true;
    }
    try {
      const store = this.ensureStore(slot);
      const dims = slot.dims as number[];
      const offset = this.rows * slot.rowSize;
      if (dims.length === 0) {
        if (!slot.codec.write(store, offset, value)) throw this.typeError(slot, value, []);
      } else if (
        dims.length > 1 &&
        Array.isArray(value) &&
        value.length === slot.rowSize &&
        value.length !== dims[0] &&
        !Array.isArray(value[0])
      ) {
        // A flat row of the right size (CSV, or a client that flattens) fills the dims row-major.
        this.writeLeaf(slot, store, value, offset, [], slot.rowSize);
      } else {
        this.writeLevel(slot, store, value, 0, offset, []);
      }
    } catch (error) {
      if (fresh) slot.dims = undefined;
      throw error;
    }
  }

  private writeLevel(
    slot: InputSlot,
    store: TensorStore,
    value: unknown,
    level: number,
    offset: number,
    path: number[],
  ): void {
    const dims = slot.dims as number[];
    const expected = dims[level] as number;
    if (level === dims.length - 1) {
      if (!Array.isArray(value) && level === 0 && expected === 1 && !isPlainObject(value)) {
        // One value for a one-element row: [[3]] and [3] both mean the same.
        if (!slot.codec.write(store, offset, value)) throw this.typeError(slot, value, []);
        return;
      }
      this.checkLength(slot, value, level, expected, path);
      this.writeLeaf(slot, store, value as unknown[], offset, path, expected);
      return;
    }
    this.checkLength(slot, value, level, expected, path);
    let stride = 1;
    for (let k = level + 1; k < dims.length; k++) stride *= dims[k] as number;
    const items = value as unknown[];
    for (let i = 0; i < expected; i++) {
      path.push(i);
      this.writeLevel(slot, store, items[i], level + 1, offset + i * stride, path);
      path.pop();
    }
  }

  private writeLeaf(
    slot: InputSlot,
    store: TensorStore,
    items: unknown[],
    offset: number,
    path: number[],
    length: number,
  ): void {
    const codec = slot.codec;
    for (let j = 0; j < length; j++) {
      if (!codec.write(store, offset + j, items[j])) throw this.typeError(slot, items[j], [...path, j]);
    }
  }

  private checkLength(
    slot: InputSlot,
    value: unknown,
    level: number,
    expected: number,
    path: number[],
  ): void {
    const at = path.length > 0 ? ` at ${path.map((p) => `[${p}]`).join('')}` : '';
    if (!Array.isArray(value)) {
      throw new RequestError(
        `expected an array of ${expected} values${at} for input ${JSON.stringify(slot.spec.name)} (shape ${slot.shapeText}), got ${describeValue(value)}`,
      );
    }
    if (value.length === expected) return;
    const variable = slot.declared === undefined || slot.declared[level] === -1;
    if (variable && this.rows > 0) {
      throw new RaggedRowError(
        `expected ${expected} values${at} for input ${JSON.stringify(slot.spec.name)} (shape ${slot.shapeText}) like the rows before it, got ${value.length}: ragged rows cannot be batched together`,
      );
    }
    throw new RequestError(
      `expected ${expected} values${at} for input ${JSON.stringify(slot.spec.name)} (shape ${slot.shapeText}), got ${value.length}`,
    );
  }

  private typeError(slot: InputSlot, value: unknown, path: number[]): RequestError {
    const at = path.length > 0 ? ` at ${path.map((p) => `[${p}]`).join('')}` : '';
    return new RequestError(
      `input ${JSON.stringify(slot.spec.name)} expects ${slot.codec.expected}, got ${describeValue(value)}${at}`,
    );
  }

  /** Dimensions of the first row: declared ones where fixed, read off the nested arrays where variable. */
  private inferDims(slot: InputSlot, value: unknown): number[] {
    const declared = slot.declared;
    const dims: number[] = [];
    let v = value;
    for (let k = 0; declared === undefined || k < declared.length; k++) {
      const fixed = declared?.[k];
      if (!Array.isArray(v)) {
        if (declared === undefined) break;
        if (fixed !== undefined && fixed !== -1) {
          dims.push(fixed);
          continue;
        }
        throw new RequestError(
          `expected nested arrays of rank ${declared.length} for input ${JSON.stringify(slot.spec.name)} (shape ${slot.shapeText}), got ${describeValue(value)}`,
        );
      }
      if (dims.length === MAX_RANK) {
        throw new RequestError(
          `input ${JSON.stringify(slot.spec.name)} is nested deeper than ${MAX_RANK} levels`,
        );
      }
      dims.push(fixed !== undefined && fixed !== -1 ? fixed : v.length);
      v = v[0];
    }
    return dims;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
