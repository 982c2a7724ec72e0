import { setFlagsFromString } from 'node:v8';

let applied = false;

/**
 * Turns off V8's memory reducer for the process, so for the media threads
 * started after this call.
 *
 * A media thread in steady state allocates almost nothing, which is what the
 * memory reducer takes for an idle heap: it then runs full mark-compact
 * collections to shrink it, each pausing the thread for up to 15 ms, and a pause at
 * the wrong moment makes a tick late (measured with --trace-gc: every late tick
 * of a 350-stream thread at 50 % load fell on one of them). With the reducer
 * off, V8 still collects whenever allocation needs it; it only stops shrinking
 * a quiet heap. V8 flags are per process, so the main thread's heap is not
 * shrunk when idle either: it stays at its high-water mark.
 */
export function disableMemoryReducer(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString('--no-memory-reducer');
}
