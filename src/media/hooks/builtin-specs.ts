/**
 * Registers the built-in hooks by name so a call spec can name them across the
 * media-thread boundary (see src/media/core/hook-loader.ts).
 */
export {};
