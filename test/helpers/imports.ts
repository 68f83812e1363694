/**
 * The repository's own import graph, read with TypeScript's import scanner (ts.preProcessFile: the
 * specifiers of import/export ... from, import type, import '...', require('...') and import('...'),
 * never text inside comments or strings), for test/imports.test.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

export interface ImportEdge {
  /** Importing file, repository-relative with '/' separators. */
  from: string;
  /** Imported file (resolved like Node10: x.ts, then x/index.ts), repository-relative. */
  to: string;
  spec: string;
  line: number;
}

/** Every .ts file (not .d.ts) under `dirs`, repository-relative and sorted. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    if (!fs.existsSync(abs)) return;
    for (const f of fs.readdirSync(abs).sort()) {
      if (f === 'node_modules' || f.startsWith('.')) continue;
      const r = `${rel}/${f}`;
      if (fs.statSync(path.join(root, r)).isDirectory()) walk(r);
      else if (r.endsWith('.ts') && !r.endsWith('.d.ts')) out.push(r);
    }
  };
  dirs.forEach(walk);
  return out.sort();
}

/** The file a relative specifier names, seen from directory `fromDir` (repository-relative), or undefined. */
export function resolveSpec(root: string, fromDir: string, spec: string): string | undefined {
  const base = path.posix.normalize(path.posix.join(fromDir, spec));
  for (const cand of [`${base}.ts`, base, `${base}/index.ts`]) {
    const abs = path.join(root, cand);
    if (fs.existsSync(abs) && fs.statSync(abs).isFile()) return cand;
  }
  return undefined;
}

/** Relative import specifiers of TypeScript source text, with their 1-based lines. */
export function relativeSpecs(text: string): { spec: string; line: number }[] {
  const info = ts.preProcessFile(text, true, true);
  const lineOf = (pos: number) => text.slice(0, pos).split('\n').length;
  return info.importedFiles.filter((f) => f.fileName.startsWith('./') || f.fileName.startsWith('../')).map((f) => ({ spec: f.fileName, line: lineOf(f.pos) }));
}

/** The relative imports of one file; an import that resolves to no file is returned with to = ''. */
export function fileImports(root: string, file: string): ImportEdge[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  return relativeSpecs(text).map(({ spec, line }) => ({ from: file, to: resolveSpec(root, path.posix.dirname(file), spec) ?? '', spec, line }));
}

export function importGraph(root: string, files: readonly string[]): Map<string, ImportEdge[]> {
  return new Map(files.map((f) => [f, fileImports(root, f)]));
}

/**
 * The import cycles of a graph, one per strongly connected component with more than one file or a
 * file that imports itself (Tarjan's algorithm): the component's files, and one cycle through them
 * (a -> b -> ... -> a: the shortest way from the component's first file back to itself).
 */
export function findCycles(graph: Map<string, ImportEdge[]>): { files: string[]; cycle: string[] }[] {
  const next = (f: string) => (graph.get(f) ?? []).map((e) => e.to).filter((t) => graph.has(t));
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || next(v).includes(v)) components.push(comp.sort());
    }
  };
  for (const f of [...graph.keys()].sort()) if (!index.has(f)) connect(f);
  return components.map((comp) => {
    const inComp = new Set(comp);
    const start = comp[0];
    // Breadth-first from start's successors back to start, inside the component.
    const prev = new Map<string, string>();
    const queue = next(start).filter((w) => inComp.has(w));
    for (const w of queue) if (!prev.has(w)) prev.set(w, start);
    for (let i = 0; i < queue.length; i++) {
      const v = queue[i];
      if (v === start) break;
      for (const w of next(v)) {
        if (inComp.has(w) && !prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    const cycle = [start];
    for (let v = prev.get(start)!; v !== start; v = prev.get(v)!) cycle.unshift(v);
    cycle.unshift(start);
    return { files: comp, cycle };
  });
}
