/** One boundary test per top-level folder of src: what it may import, and the arrows it must never draw. */
import { describe, expect, it } from 'vitest';
import { filesOf, srcFolders, staticTestingImports, wrongArrows } from './import-graph.js';

/** The files at the top of src/ (not folders), importable from everywhere. */
export const ROOT_FILES = ['errors.ts', 'logger.ts'] as const;

export interface BoundaryRule {
  /** Folders of src (and `testing`, for dynamic loading) the folder may import, besides itself and ROOT_FILES. */
  mayImport: readonly string[];
  /** Arrows the architecture forbids outright (kept apart from mayImport so widening it cannot undo them). */
  never?: readonly string[];
}

export function describeBoundary(folder: string, rule: BoundaryRule): void {
  describe(`src/${folder} imports only what its layer may`, () => {
    it('is a folder of src with source files', () => {
      expect(srcFolders()).toContain(folder);
      expect(filesOf(folder).length).toBeGreaterThan(0);
    });

    it(`imports only ${[...rule.mayImport, ...ROOT_FILES].join(', ')}`, () => {
      expect(wrongArrows(folder, [...rule.mayImport, ...ROOT_FILES])).toEqual([]);
    });

    if (rule.never !== undefined && rule.never.length > 0) {
      const never = rule.never;
      it(`never imports ${never.join(', ')} (not even a type)`, () => {
        expect(rule.mayImport.filter((f) => never.includes(f))).toEqual([]);
        expect(wrongArrows(folder, srcFolders().concat('testing', ...ROOT_FILES).filter((f) => !never.includes(f)))).toEqual([]);
      });
    }

    it('never imports testing/ statically (a dynamic import() or `import type` is allowed)', () => {
      expect(staticTestingImports(folder)).toEqual([]);
    });
  });
}
