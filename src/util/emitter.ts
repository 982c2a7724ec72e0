/**
 * One typed listener set. A listener that throws is reported through `onError` and never stops
 * the others; `on` returns the unsubscribe function.
 */
export class Emitter<T> {
  private readonly listeners = new Set<(value: T) => void>();

  constructor(private readonly onError: (err: unknown) => void = () => {}) {}

  on(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(value: T): void {
    for (const l of this.listeners) {
      try {
        l(value);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
