/**
 * The engine's module graph: no import cycle in `src/`, and `src/` never reaches outside
 * itself (the n8n adapters in `nodes/` and `credentials/` depend on the engine, never the
 * reverse) nor into n8n's packages. Every import counts, `import type` too: a type-only cycle
 * still ties the modules' designs together.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

import * as ts from 'typescript';

const ROOT = resolve(__dirname, '..', '..');
const SRC = join(ROOT, 'src');


/** n8n's packages: the engine runs without n8n. */
const N8N_PACKAGE = /^(n8n-workflow|n8n-core|n8n-nodes-base|n8n)$|^@n8n\//;

function sourceFiles(folder: string): string[] {
	return readdirSync(folder).flatMap((name) => {
		const path = join(folder, name);
		if (statSync(path).isDirectory()) return sourceFiles(path);
		return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
	});
}

const repoPath = (path: string) => relative(ROOT, path).split(sep).join('/');

/** The file a relative specifier names, as TypeScript resolves it. */
function resolveRelative(from: string, specifier: string): string {
	const base = resolve(dirname(from), specifier.replace(/\.js$/, ''));
	for (const candidate of [`${base}.ts`, join(base, 'index.ts'), base]) {
		if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
	}
	throw new Error(`${repoPath(from)} imports ${specifier}, which resolves to no file`);
}

interface ModuleImports {
	/** Files of src/ imported. */
	local: string[];
	/** Specifiers that break the engine's boundary. */
	forbidden: string[];
}

function importsOf(file: string): ModuleImports {
	// importedFiles covers import, import type, export … from, import() and require().
	const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
	const local: string[] = [];
	const forbidden: string[] = [];
	for (const { fileName: specifier } of importedFiles) {
		if (specifier.startsWith('.')) {
			const target = resolveRelative(file, specifier);
			if (target.startsWith(SRC + sep)) local.push(target);
			else forbidden.push(`${specifier} (${repoPath(target)})`);
		} else if (N8N_PACKAGE.test(specifier)) {
			forbidden.push(specifier);
		}
	}
	return { local: [...new Set(local)], forbidden };
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
	let counter = 0;
	const index = new Map<string, number>();
	const low = new Map<string, number>();
	const stack: string[] = [];
	const onStack = new Set<string>();
	const found: string[][] = [];
	const visit = (node: string) => {
		index.set(node, counter);
		low.set(node, counter);
		counter++;
		stack.push(node);
		onStack.add(node);
		for (const next of graph.get(node) ?? []) {
			if (!index.has(next)) {
				visit(next);
				low.set(node, Math.min(low.get(node)!, low.get(next)!));
			} else if (onStack.has(next)) {
				low.set(node, Math.min(low.get(node)!, index.get(next)!));
			}
		}
		if (low.get(node) === index.get(node)) {
			const component: string[] = [];
			let member: string;
			do {
				member = stack.pop()!;
				onStack.delete(member);
				component.push(member);
			} while (member !== node);
			if (component.length > 1 || (graph.get(node) ?? []).includes(node)) {
				found.push(component.sort());
			}
		}
	};
	for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
	return found;
}

/** One concrete loop through a component, for the message: a → b → … → a. */
function loopThrough(component: string[], graph: Map<string, string[]>): string {
	const members = new Set(component);
	const start = component[0];
	const previous = new Map<string, string>();
	const queue = [start];
	while (queue.length > 0) {
		const node = queue.shift()!;
		for (const next of graph.get(node) ?? []) {
			if (!members.has(next)) continue;
			if (next === start) {
				const path = [start];
				for (let at = node; at !== start; at = previous.get(at)!) path.splice(1, 0, at);
				return [...path, start].map(repoPath).join(' → ');
			}
			if (!previous.has(next)) {
				previous.set(next, node);
				queue.push(next);
			}
		}
	}
	return component.map(repoPath).join(', ');
}

describe('src/ module graph', () => {
	const files = sourceFiles(SRC);
	const imports = new Map(files.map((file) => [file, importsOf(file)]));
	const graph = new Map([...imports].map(([file, { local }]) => [file, local]));

	it('reads every file of src/', () => {
		expect(files.length).toBeGreaterThan(50);
		expect(files).toContain(join(SRC, 'index.ts'));
	});

	it('has no import cycle', () => {
		const found = cycles(graph).map((component) => loopThrough(component, graph));
		expect(found).toEqual([]);
	});

	it('imports nothing from nodes/, credentials/ or elsewhere outside src/, nor n8n packages', () => {
		const breaches = [...imports]
			.filter(([, { forbidden }]) => forbidden.length > 0)
			.map(([file, { forbidden }]) => `${repoPath(file)}: ${forbidden.join(', ')}`);
		expect(breaches).toEqual([]);
	});

	it('finds a cycle and a breach when there is one', () => {
		const a = join(SRC, 'a.ts');
		const b = join(SRC, 'b.ts');
		const c = join(SRC, 'c.ts');
		const loop = new Map([
			[a, [b]],
			[b, [c]],
			[c, [a]],
		]);
		expect(cycles(loop).map((component) => loopThrough(component, loop))).toEqual([
			'src/a.ts → src/b.ts → src/c.ts → src/a.ts',
		]);
		expect(cycles(new Map([[a, [a]]]))).toEqual([[a]]);
		expect(
			cycles(
				new Map([
					[a, [b]],
					[b, []],
				]),
			),
		).toEqual([]);
		expect(N8N_PACKAGE.test('n8n-workflow')).toBe(true);
		expect(N8N_PACKAGE.test('n8n-core')).toBe(true);
		expect(N8N_PACKAGE.test('luxon')).toBe(false);
	});
});
