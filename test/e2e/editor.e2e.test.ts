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
 *
 * Screenshots of each panel are written to the test's temporary folder and their paths printed.
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
/** The editor's first load compiles a large bundle on a 2-core machine. */
const UI_TIMEOUT_MS = 90_000;

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
	['exceptionCheck', 'Exception Check', { exceptionEvents: 'Order Completed' }],
	['frequencyCap', 'Frequency Cap', {}],
	['sendMessage', 'Send Message', {}],
	['salesforceSegmentTrigger', 'Salesforce Segment Trigger', {}],
	['campaignResumeTrigger', 'Campaign Resume Trigger', { campaignId: 'editor-check' }],
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
			const panel = await openNode('Send Message');
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
});
