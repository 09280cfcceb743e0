type Column = Float64Array | Int32Array;

/** A copy of `array` enlarged to `size` elements, the new ones zero. */
export function grown<T extends Column>(array: T, size: number): T {
  const copy = new (array.constructor as new (length: number) => T)(size);
  copy.set(array);
  return copy;
}
