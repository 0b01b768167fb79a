/**
 * n8n gives a node only the credentials its description declares ("Node type ... does not have
 * any credentials of type ... defined"), and its editor shows a credential slot only for those.
 * A credential that code asks for but the description lacks works in no workflow, whatever the
 * unit tests of the engine say. This test reads every node's code (the node file and the
 * `nodes/` modules it imports, transitively) for the credential type names it uses outside its
 * own `credentials: [...]` declaration, and checks each against that declaration.
 */
import { describe, expect, it } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import type { INodeType } from 'n8n-workflow';

const root = path.resolve(__dirname, '../..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
	n8n: { nodes: string[]; credentials: string[] };
};
const sourceOf = (distPath: string) =>
	path.join(root, distPath.replace(/^dist\//, '').replace(/\.js$/, '.ts'));

/** n8n's own credential types that nodes of this package accept on purpose (see their comments). */
const N8N_BUILT_IN_CREDENTIALS = ['salesforceOAuth2Api', 'salesforceJwtApi'];

function packageCredentialNames(): string[] {
	return manifest.n8n.credentials.map((file) => {
		const text = fs.readFileSync(sourceOf(file), 'utf8');
		const match = /\bname\s*=\s*'([A-Za-z0-9]+)'/.exec(text);
		if (!match) throw new Error(`no credential name in ${file}`);
		return match[1];
	});
}

function parse(file: string): ts.SourceFile {
	return ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
}

/** The node file and every module under nodes/ it imports (not type-only), transitively. */
function moduleGraph(entry: string): string[] {
	const nodesFolder = path.join(root, 'nodes');
	const seen = new Set<string>();
	const pending = [entry];
	while (pending.length > 0) {
		const file = pending.pop()!;
		if (seen.has(file)) continue;
		seen.add(file);
		for (const statement of parse(file).statements) {
			if (!ts.isImportDeclaration(statement) || statement.importClause?.isTypeOnly) continue;
			const specifier = (statement.moduleSpecifier as ts.StringLiteral).text;
			if (!specifier.startsWith('.')) continue;
			const target = path.resolve(path.dirname(file), specifier);
			const candidate = [`${target}.ts`, path.join(target, 'index.ts')].find((f) =>
				fs.existsSync(f),
			);
			if (candidate && candidate.startsWith(nodesFolder)) pending.push(candidate);
		}
	}
	return [...seen];
}

/** Whether a node sits inside a `credentials: [...]` array (a node's declaration). */
function insideCredentialDeclaration(node: ts.Node): boolean {
	for (let parent = node.parent; parent; parent = parent.parent) {
		if (
			ts.isPropertyAssignment(parent) &&
			parent.name.getText() === 'credentials' &&
			ts.isArrayLiteralExpression(parent.initializer)
		)
			return true;
	}
	return false;
}

/** Credential type names the code of these modules uses outside credential declarations. */
function credentialNamesUsed(files: string[], known: Set<string>): Map<string, string[]> {
	const used = new Map<string, string[]>();
	for (const file of files) {
		const visit = (node: ts.Node) => {
			if (
				(ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) &&
				known.has(node.text) &&
				!insideCredentialDeclaration(node)
			) {
				const where = `${path.relative(root, file)}:${node.getSourceFile().getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
				used.set(node.text, [...(used.get(node.text) ?? []), where]);
			}
			ts.forEachChild(node, visit);
		};
		visit(parse(file));
	}
	return used;
}

async function loadNode(distPath: string): Promise<INodeType> {
	const module = (await import(sourceOf(distPath))) as Record<string, new () => INodeType>;
	const NodeClass = Object.values(module).find((value) => typeof value === 'function');
	if (!NodeClass) throw new Error(`${distPath} exports no node class`);
	return new NodeClass();
}

describe('every credential a node asks n8n for is declared in its description', () => {
	const packageCredentials = packageCredentialNames();
	const known = new Set([...packageCredentials, ...N8N_BUILT_IN_CREDENTIALS]);

	it.each(manifest.n8n.nodes)('%s', async (distPath) => {
		const node = await loadNode(distPath);
		const declared = (node.description.credentials ?? []).map((credential) => credential.name);
		const used = credentialNamesUsed(moduleGraph(sourceOf(distPath)), known);
		const undeclared = [...used.entries()]
			.filter(([name]) => !declared.includes(name))
			.map(([name, places]) => `${name} (used at ${places.join(', ')})`);
		expect(undeclared).toEqual([]);
		// Each declaration names a real credential type and says in the editor what it is for.
		for (const credential of node.description.credentials ?? []) {
			expect(known.has(credential.name)).toBe(true);
			expect(credential.displayName ?? '').not.toBe('');
		}
	});

	it('finds the use that the Campaign Event Trigger once lacked a declaration for', () => {
		const trigger = manifest.n8n.nodes.find((file) => file.includes('CampaignEventTrigger'))!;
		const used = credentialNamesUsed(moduleGraph(sourceOf(trigger)), known);
		// Through nodes/shared/campaign-store.ts, which every store-backed node imports.
		expect(
			used
				.get('campaignStoreApi')
				?.some((place) => place.startsWith('nodes/shared/campaign-store.ts')),
		).toBe(true);
		expect([...used.keys()].sort()).toEqual([
			'campaignStoreApi',
			'campaignWebhookHmacApi',
			'campaignWebhookTokenApi',
		]);
	});

	it('every credential of the package is used by some node', async () => {
		const declaredAnywhere = new Set<string>();
		for (const distPath of manifest.n8n.nodes) {
			for (const credential of (await loadNode(distPath)).description.credentials ?? [])
				declaredAnywhere.add(credential.name);
		}
		expect(packageCredentials.filter((name) => !declaredAnywhere.has(name))).toEqual([]);
	});
});

describe('the Salesforce credentials come from one list', () => {
	it('both Salesforce nodes declare one credential per Authentication option, tested where this package can', async () => {
		const { salesforceAuthenticationProperty, salesforceCredentialDeclarations } = await import(
			'../../nodes/shared/salesforce'
		);
		const choices = (salesforceAuthenticationProperty.options ?? []).map(
			(option) => (option as { value: string }).value,
		);
		expect(choices).toEqual([
			'campaignOAuth2',
			'campaignJwt',
			'campaignPassword',
			'salesforceOAuth2',
			'salesforceJwt',
		]);
		for (const file of manifest.n8n.nodes.filter((node) => node.includes('/Salesforce'))) {
			const node = await loadNode(file);
			const salesforce = (node.description.credentials ?? []).filter(
				(credential) => credential.name !== 'campaignStoreApi',
			);
			expect(salesforce).toEqual(salesforceCredentialDeclarations);
			expect(
				salesforce.map((credential) => credential.displayOptions?.show?.authentication),
			).toEqual(choices.map((choice) => [choice]));
			const tested = salesforce.filter((credential) => credential.testedBy !== undefined);
			expect(tested.map((credential) => credential.name)).toEqual([
				'campaignSalesforceJwtApi',
				'campaignSalesforcePasswordApi',
			]);
			expect(typeof node.methods?.credentialTest?.testSalesforceCredential).toBe('function');
		}
	});
});
