/**
 * The package's nodes in n8n 2.41.0's editor, in a real browser (Debian's Chromium driven by
 * playwright-core), as an ops person opens them:
 *
 * - Campaign Send Message shows its Channel parameter; on Intercom the credential slot
 *   "Intercom Account (Intercom channel)" is shown, and switching Channel to HTTP shows
 *   "Provider Header Auth (HTTP channel)" instead. (n8n's editor hides a parameter whose every
 *   value shows some credential and offers it only inside the credential dialog; Channel was
 *   hidden that way.)
 * - Every node that reads or writes the campaign store offers a "Campaign Store" credential
 *   slot, the Campaign Event Trigger included (it had none, so its events always went to the
 *   embedded SQLite file while the other nodes of the workflow used PostgreSQL).
 * - The example workflows (examples/*.json), which hold every node of the package between them,
 *   open with each node's own icon, a subtitle in words, a parameter panel without an issue or
 *   error marker and placeholders without a stray "=". Their canvases are saved to docs/images/
 *   (shown in the README).
 * - Publishing a workflow whose Campaign Event Trigger has a Property Filters row without a
 *   property fails, naming the row and the parameter as the panel does.
 *
 * Other screenshots (panels) are written to the test's temporary folder; all paths are printed.
 * Needs Chromium: `apt-get install chromium` (Debian), or CHROMIUM_PATH naming another binary.
 *
 * Run: `npm run test:e2e -- test/e2e/editor.e2e.test.ts` (builds first).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

import {
	ensureN8nInstalled,
	installPackageTarball,
	packageRoot,
	packPackage,
	startN8n,
	type N8nInstance,
	type WorkflowJson,
	type WorkflowNode,
} from './n8n-harness';
import { withLogTail } from './campaign-e2e-helpers';

const PKG = 'n8n-nodes-triggered-campaigns';
/** n8n's issue and error markers, on the canvas node and in the parameter panel. */
const ISSUE_MARKERS =
	'[data-test-id="node-issues"], [data-test-id="parameter-issues"], [data-test-id="node-error"], [data-test-id*="issue"]';
/** The example workflows, by file name; the test opens them as an ops person imports them. */
const EXAMPLES = ['abandoned-cart', 'trial-ending'] as const;
/** Where the canvases are saved for the README. */
const IMAGES_DIR = path.join(packageRoot(), 'docs', 'images');
/** Credentials the examples refer to by name, created with placeholder secrets. */
const EXAMPLE_CREDENTIALS: Array<[name: string, type: string, data: Record<string, unknown>]> = [
	[
		'Intercom Account',
		'campaignIntercomApi',
		{ accessToken: 'editor-check-token', region: 'us', defaultAdminId: '991267816' },
	],
	[
		'Salesforce Integration User',
		'campaignSalesforcePasswordApi',
		{
			environment: 'production',
			useSoapLogin: false,
			clientId: 'editor-check-client',
			clientSecret: 'editor-check-secret',
			username: 'integration@example.com',
			password: 'editor-check-password',
			securityToken: 'editor-check-token',
		},
	],
];

function readExample(name: string): WorkflowJson {
	return JSON.parse(
		fs.readFileSync(path.join(packageRoot(), 'examples', `${name}.json`), 'utf8'),
	) as WorkflowJson;
}

/** The example with its credential references pointing at the credentials created here. */
function withCredentialIds(
	workflow: WorkflowJson,
	id: string,
	created: Map<string, { id: string; name: string }>,
): WorkflowJson {
	const nodes = workflow.nodes.map((node) => {
		const references = node.credentials as Record<string, { name: string }> | undefined;
		if (!references) return node;
		return {
			...node,
			credentials: Object.fromEntries(
				Object.entries(references).map(([type, reference]) => {
					const credential = created.get(reference.name);
					if (!credential)
						throw new Error(`The example refers to an unknown credential "${reference.name}"`);
					return [type, credential];
				}),
			),
		};
	});
	return { ...workflow, id, nodes };
}

/** A Campaign Event Trigger whose Property Filters row has no property, as the editor accepts it. */
function emptyFilterWorkflow(id: string, property: string): WorkflowJson {
	return {
		id,
		name: `e2e property filter ${JSON.stringify(property)}`,
		nodes: [
			{
				id: randomUUID(),
				name: 'Campaign Event Trigger',
				type: `${PKG}.campaignEventTrigger`,
				typeVersion: 1,
				position: [0, 0],
				webhookId: randomUUID(),
				parameters: {
					campaignId: 'empty-filter',
					propertyFilters: { filter: [{ property, operator: 'equals', value: 'x' }] },
					options: {},
				},
			},
		],
		connections: {},
		settings: { executionOrder: 'v1' },
	};
}
/** The editor's first load compiles a large bundle on a 2-core machine. */
const UI_TIMEOUT_MS = 90_000;

/** n8n workflow ids are 16 characters, letters and digits. */
const exampleId = (example: string) =>
	`example${example.replace(/[^a-z]/g, '')}`.slice(0, 16).padEnd(16, '0');

function chromiumPath(): string {
	const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
	const found = candidates.find((candidate) => candidate && fs.existsSync(candidate));
	if (!found)
		throw new Error(
			"The editor test needs Chromium: install Debian's package (apt-get install chromium) or set CHROMIUM_PATH to a Chromium binary.",
		);
	return found;
}

/** Nodes of the package that use the campaign store, by node type and canvas name. */
const STORE_NODES: Array<[type: string, name: string, parameters: Record<string, unknown>]> = [
	['campaignEventTrigger', 'Campaign Event Trigger', { campaignId: 'editor-check', options: {} }],
	['campaignStore', 'Campaign Store', {}],
	['campaignDelay', 'Campaign Delay', {}],
	['exceptionCheck', 'Campaign Exception Check', { exceptionEvents: 'Order Completed' }],
	['frequencyCap', 'Campaign Frequency Cap', {}],
	['sendMessage', 'Campaign Send Message', {}],
	['salesforceSegmentTrigger', 'Salesforce Segment Trigger', {}],
	['campaignResumeTrigger', 'Campaign Resume Trigger', { campaignId: 'editor-check' }],
	[
		'campaignReport',
		'Campaign Report',
		{ campaignIds: 'editor-check', conversionEvents: 'Order Completed' },
	],
];

function editorWorkflow(): WorkflowJson {
	const nodes: WorkflowNode[] = STORE_NODES.map(([type, name, parameters], index) => ({
		id: randomUUID(),
		name,
		type: `${PKG}.${type}`,
		typeVersion: 1,
		position: [index * 260, type.endsWith('Trigger') ? 0 : 200],
		parameters,
		...(type === 'campaignEventTrigger' ? { webhookId: randomUUID() } : {}),
	}));
	// A Campaign Delay as the node panel adds it today: version 2, per user by default.
	nodes.push({
		id: randomUUID(),
		name: 'Campaign Delay v2',
		type: `${PKG}.campaignDelay`,
		typeVersion: 2,
		position: [0, 400],
		parameters: {},
	});
	return {
		id: 'e2eEditorCheck01',
		name: 'e2e editor check',
		nodes,
		connections: {},
		settings: { executionOrder: 'v1' },
	};
}

describe("the nodes in n8n 2.41.0's editor, in Chromium", () => {
	let tmp: string;
	let n8n: N8nInstance | undefined;
	let browser: Browser | undefined;
	let page: Page;
	const screenshots: string[] = [];
	const logged = (fn: () => Promise<void>) => withLogTail(() => n8n, fn, 60);

	beforeAll(async () => {
		const executablePath = chromiumPath();
		const installation = await ensureN8nInstalled();
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-editor-'));
		const tgz = await packPackage(packageRoot(), path.join(tmp, 'packed'), { ignoreScripts: true });
		const userFolder = path.join(tmp, 'user');
		await installPackageTarball(tgz, userFolder);
		n8n = await startN8n({ userFolder, installation });
		// Imported, not published: the panels are what is checked, and an unconfigured
		// Salesforce trigger could not be activated anyway.
		await n8n.importWorkflow(editorWorkflow());
		const created = new Map<string, { id: string; name: string }>();
		for (const [name, type, data] of EXAMPLE_CREDENTIALS)
			created.set(name, await n8n.createCredential(name, type, data));
		for (const example of EXAMPLES)
			await n8n.importWorkflow(
				withCredentialIds(readExample(example), exampleId(example), created),
			);

		browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
		page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
		page.setDefaultTimeout(UI_TIMEOUT_MS);
		await page.goto(`${n8n.baseUrl}/signin`);
		await page.getByLabel(/email/i).first().fill(n8n.owner.email);
		await page
			.getByLabel(/password/i)
			.first()
			.fill(n8n.owner.password);
		await page.getByRole('button', { name: /sign in/i }).click();
		await page.waitForURL((url) => !url.pathname.includes('signin'));
		await page.goto(`${n8n.baseUrl}/workflow/e2eEditorCheck01`);
		await page.locator('[data-test-id="canvas-node"]').first().waitFor();
	});

	afterAll(async () => {
		await browser?.close();
		await n8n?.stop();
		if (screenshots.length > 0)
			console.log(`editor e2e screenshots:\n  ${screenshots.join('\n  ')}`);
	});

	/** Opens a node's panel from the canvas, as a double click does; returns the panel. */
	async function openNode(name: string): Promise<Locator> {
		await page.locator(`[data-test-id="canvas-node"][data-node-name="${name}"]`).dblclick();
		const panel = page.locator('[data-test-id="ndv"]');
		await panel.getByText('Parameters', { exact: true }).first().waitFor();
		return panel;
	}

	async function closePanel(): Promise<void> {
		await page.locator('[data-test-id="ndv-close-button"]').click();
		await page.locator('[data-test-id="ndv"]').waitFor({ state: 'hidden' });
	}

	async function screenshot(label: string): Promise<void> {
		const file = path.join(tmp, `${label}.png`);
		await page.screenshot({ path: file });
		screenshots.push(file);
	}

	/** Visible text in the panel that reads exactly `text` (the panel also keeps hidden copies). */
	const label = (panel: Locator, text: string) =>
		panel.getByText(text, { exact: true }).filter({ visible: true });

	it(
		'Send Message shows Channel, and switching it shows the credential of that channel',
		logged(async () => {
			const panel = await openNode('Campaign Send Message');
			await label(panel, 'Channel').waitFor();
			await label(panel, 'Intercom Account (Intercom channel)').waitFor();
			expect(await label(panel, 'Provider Header Auth (HTTP channel)').count()).toBe(0);
			await screenshot('send-message-intercom');

			await panel.locator('[data-test-id="parameter-input-channel"]').click();
			await page.getByRole('option', { name: /^HTTP/ }).click();
			await label(panel, 'Provider Header Auth (HTTP channel)').waitFor();
			await label(panel, 'Intercom Account (Intercom channel)').waitFor({ state: 'detached' });
			await label(panel, 'URL').waitFor();
			await screenshot('send-message-http');

			// Without header authentication, the HTTP channel needs no credential.
			await panel.locator('[data-test-id="parameter-input-httpAuthentication"]').click();
			await page.getByRole('option', { name: 'None', exact: true }).click();
			await label(panel, 'Provider Header Auth (HTTP channel)').waitFor({ state: 'detached' });
			await closePanel();
		}),
	);

	it(
		'a new Campaign Delay waits per user through the schedule and names its Resume Point',
		logged(async () => {
			const panel = await openNode('Campaign Delay v2');
			await label(panel, 'How to Wait').waitFor();
			// The chosen option shows in the select (as text or as its input's value).
			const chosen = await panel
				.locator('[data-test-id="parameter-input-waitHow"]')
				.evaluate((element) =>
					[
						element.textContent ?? '',
						...Array.from(element.querySelectorAll('input')).map(
							(input) => (input as { value: string }).value,
						),
					].join(' '),
				);
			expect(chosen).toContain('Per User, Through the Campaign Schedule');
			await label(panel, 'Resume Point').waitFor();
			await screenshot('campaign-delay-per-user');
			await closePanel();
		}),
	);

	it.each(STORE_NODES.map(([, name]) => name))(
		'%s offers a Campaign Store credential',
		async (name) => {
			await logged(async () => {
				const panel = await openNode(name);
				await label(panel, 'Campaign Store').first().waitFor();
				if (name === 'Campaign Event Trigger') {
					// Authentication stays a parameter of its own; its credential appears when chosen.
					await panel.locator('[data-test-id="parameter-input-authentication"]').click();
					await page.getByRole('option', { name: 'Header Token', exact: true }).click();
					await label(panel, 'Sender Token').waitFor();
					await screenshot('campaign-event-trigger');
				}
				await closePanel();
			})();
		},
	);

	/** The package's nodes on the canvas of the open workflow, by name. */
	async function packageNodeNames(workflow: WorkflowJson): Promise<string[]> {
		return workflow.nodes
			.filter((node) => node.type.startsWith(`${PKG}.`))
			.map((node) => node.name);
	}

	async function openWorkflow(id: string): Promise<void> {
		await page.goto(`${n8n!.baseUrl}/workflow/${id}`);
		await page.locator('[data-test-id="canvas-node"]').first().waitFor();
	}

	/** What the canvas shows of a node: its icon, title, subtitle and any issue marker. */
	async function canvasNode(name: string) {
		const node = page.locator(`[data-test-id="canvas-node"][data-node-name="${name}"]`);
		await node.waitFor();
		const icon = node.locator('img').first();
		await icon.waitFor();
		// Loaded, with a size: the node's SVG, not a broken image.
		const started = Date.now();
		while (
			(await icon.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)) ===
			0
		) {
			if (Date.now() - started > UI_TIMEOUT_MS)
				throw new Error(`The icon of "${name}" did not load`);
			await page.waitForTimeout(250);
		}
		return {
			iconSrc: (await icon.getAttribute('src')) ?? '',
			label: (
				await node.locator('[class*="_description_"] [class*="_label_"]').first().innerText()
			).trim(),
			subtitle: (
				await node.locator('[class*="_description_"] [class*="_subtitle_"]').first().innerText()
			).trim(),
			issues: await node.locator(ISSUE_MARKERS).count(),
		};
	}

	/** Placeholders shown in the open panel: input attributes and the code editors' hints. */
	async function panelPlaceholders(panel: Locator): Promise<string[]> {
		return await panel.evaluate((element) => [
			...Array.from(element.querySelectorAll('[placeholder]')).map(
				(input) =>
					(input as unknown as { getAttribute(name: string): string | null }).getAttribute(
						'placeholder',
					) ?? '',
			),
			...Array.from(element.querySelectorAll('.cm-placeholder')).map(
				(hint) => (hint as unknown as { textContent: string | null }).textContent ?? '',
			),
		]);
	}

	describe.each(EXAMPLES)('the example %s', (example) => {
		const workflow = readExample(example);
		const subtitles: Record<string, string> = {};

		it(
			'opens with every node of the package showing its icon and a subtitle in words',
			logged(async () => {
				await openWorkflow(exampleId(example));
				await page.locator('[data-test-id="zoom-to-fit"]').click();
				// One step back, so that the Execute Workflow button covers no node.
				await page.locator('[data-test-id="zoom-out-button"]').click();
				await page.waitForTimeout(1000);
				const names = await packageNodeNames(workflow);
				expect(names.length).toBeGreaterThan(2);
				for (const name of names) {
					const node = workflow.nodes.find((candidate) => candidate.name === name)!;
					const shown = await canvasNode(name);
					const typeName = node.type.slice(PKG.length + 1);
					// The node's own SVG, served from the installed package (not n8n's fallback).
					expect(shown.iconSrc).toContain(PKG);
					expect(shown.iconSrc.toLowerCase()).toContain(`${typeName.toLowerCase()}.svg`);
					expect({ name, issues: shown.issues }).toEqual({ name, issues: 0 });
					expect(shown.label).toBe(name);
					const { subtitle } = shown;
					expect({ name, subtitle }).toEqual({ name, subtitle: expect.stringMatching(/\w/) });
					// Not an option value (afterEvent), not a label without its value ("Campaign:"),
					// not an expression.
					expect({ name, subtitle }).not.toEqual({
						name,
						subtitle: expect.stringMatching(/\b[a-z]+[A-Z]\w*|:\s*$|^=|\{\{/),
					});
					subtitles[name] = subtitle;
				}
				console.log(`${example}: canvas subtitles ${JSON.stringify(subtitles, null, 1)}`);
				fs.mkdirSync(IMAGES_DIR, { recursive: true });
				const file = path.join(IMAGES_DIR, `${example}.png`);
				await page.screenshot({ path: file });
				screenshots.push(file);
			}),
		);

		it(
			'opens each node of the package without an issue or error, placeholders without "="',
			logged(async () => {
				await openWorkflow(exampleId(example));
				for (const name of await packageNodeNames(workflow)) {
					const panel = await openNode(name);
					await page.waitForTimeout(500);
					expect({
						name,
						issues: await panel.locator(ISSUE_MARKERS).filter({ visible: true }).count(),
					}).toEqual({ name, issues: 0 });
					const withEquals = (await panelPlaceholders(panel)).filter((text) =>
						text.trim().startsWith('='),
					);
					expect({ name, withEquals }).toEqual({ name, withEquals: [] });
					if (example === 'abandoned-cart' && name === 'Campaign Event Trigger') {
						const file = path.join(IMAGES_DIR, 'campaign-event-trigger-panel.png');
						await page.screenshot({ path: file });
						screenshots.push(file);
					}
					await closePanel();
				}
			}),
		);
	});

	it(
		'marks an empty Property Filters property as an issue, on the canvas and in the panel',
		logged(async () => {
			// The control for the checks above: the same selectors find n8n's markers here.
			await openWorkflow(await n8n!.importWorkflow(emptyFilterWorkflow('e2eEmptyFilter01', '')));
			expect((await canvasNode('Campaign Event Trigger')).issues).toBeGreaterThan(0);
			const panel = await openNode('Campaign Event Trigger');
			await panel.locator(ISSUE_MARKERS).filter({ visible: true }).first().waitFor();
			await closePanel();
		}),
	);

	it(
		'refuses to publish a Property Filters row without a property, naming it as the panel does',
		logged(async () => {
			const publish = async (id: string) => {
				try {
					// n8n 2.41 publishes through an outbox: the trigger's error arrives with its status.
					await n8n!.activateWorkflow(id, 60_000);
				} catch (error) {
					return (error as Error).message.split('\n--- last')[0];
				}
				throw new Error(`Workflow ${id} was published`);
			};
			// Empty: n8n's own check of required parameters refuses it.
			const empty = await n8n!.importWorkflow(emptyFilterWorkflow('e2eEmptyFilter02', ''));
			expect(await publish(empty)).toMatch(
				/Cannot publish workflow.*Campaign Event Trigger.*Missing or invalid required parameters: property/,
			);
			// Blank: n8n's check lets it through; the trigger's own check at activation does not,
			// and the editor shows its message.
			const blank = await n8n!.importWorkflow(emptyFilterWorkflow('e2eEmptyFilter03', '   '));
			const message = await publish(blank);
			expect(message).toContain(
				'Campaign Event Trigger settings: Property Filters › row 1: Property is empty — enter the event property to compare, e.g. cart_value.',
			);
			expect(message).not.toContain('propertyFilters[0]');
			expect(await n8n!.webhooks(blank)).toEqual([]);
		}),
	);

	it(
		'offers Campaign Store in the nodes panel as one node, with no action marked as a trigger',
		logged(async () => {
			// n8n marks an action as a trigger when its node type's name contains "trigger", which
			// this package's name does: Campaign Store lists no actions, so none is marked.
			const id = await n8n!.importWorkflow({
				...emptyFilterWorkflow('e2eNodesPanel001', 'cart_value'),
				name: 'e2e nodes panel',
			});
			await openWorkflow(id);
			await page.locator('[data-test-id="node-creator-plus-button"]').click();
			const creator = page.locator('[data-test-id="node-creator"]');
			await creator.waitFor();
			await creator
				.locator(
					'[data-test-id="node-creator-search-bar"] input, input[data-test-id="node-creator-search-bar"]',
				)
				.first()
				.fill('Campaign Store');
			const item = creator
				.locator('[data-test-id="node-creator-item-name"]')
				.getByText('Campaign Store', { exact: true });
			await item.waitFor();
			await item.click();
			// A community node opens its details in the nodes panel: its actions, each marked as a
			// trigger (the bug), or, without actions, an "Add to workflow" button.
			const addButton = creator.getByRole('button', { name: 'Add to workflow' });
			const actionsHeader = creator.getByText(/^Actions \(\d+\)$/);
			await addButton.or(actionsHeader).first().waitFor();
			await page.waitForTimeout(1500); // the details view slides in
			await screenshot('campaign-store-from-nodes-panel');
			expect({
				actions: await actionsHeader.count(),
				markedAsTrigger: await creator
					.locator('svg[data-icon="bolt-filled"]')
					.filter({ visible: true })
					.count(),
			}).toEqual({ actions: 0, markedAsTrigger: 0 });
			// Offered as one node; nothing is added, so the workflow stays unchanged.
			await addButton.waitFor();
			await page.keyboard.press('Escape');
		}),
	);
});
