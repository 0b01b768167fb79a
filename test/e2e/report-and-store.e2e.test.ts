/**
 * The Campaign Report and the Campaign Store's operations about one person (Dry Run, Get
 * Timeline, Export User Data, Erase User, Upsert and Get Profile) inside a real n8n 2.41.0,
 * on the campaign store n8n itself wrote (the default SQLite file of the user folder).
 *
 * 1. A campaign: Campaign Event Trigger (Header Token authentication, the
 *    campaignWebhookTokenApi credential) → Campaign Send Message (HTTP channel to a local
 *    recording provider, variants A and B of equal weight, Control Group 30%) → NoOp on Sent
 *    and on Control. Twelve users add a cart; the provider must get exactly the users on Sent,
 *    each with their variant's text; the others leave on Control. A request without the token
 *    gets 401 and records nothing.
 * 2. Conversions ("Order Completed") are posted through the same trigger: two A users, one B
 *    user and one control user buy THEIR cart, one more A user buys another cart (Same Property
 *    As the Trigger: cart_id, so it does not count).
 * 3. Webhook → Campaign Report: one row per variant, control and total with the counts, the
 *    rates and the lift against control; the total carries the SVG chart as binary data,
 *    read back through n8n's binary-data endpoint.
 * 4. Webhook → Campaign Store (Dry Run) per user: the variant or control group it names is the
 *    one Send Message really chose, its preview the text the provider got; a user who bought their cart after the trigger exits; nothing
 *    is written (the provider and the store see nothing new).
 *    With the Delay and a Frequency Cap included too: a sent user would be capped by the one
 *    message they got, a buyer exits at the end of the delay.
 * 5. Webhook → Campaign Store (Upsert Profile, Get Profile, Get Timeline, Export User Data):
 *    the timeline is in time order with the entry, the send and the conversion; the export holds
 *    the profile, the events, the entry and the send with the provider's message id.
 * 6. Webhook → Campaign Store (Erase User) for a converted sent user and a converted control user:
 *    their profile and events are gone (Get Profile: not found, empty timeline) and the Campaign
 *    Report is identical to the one before.
 * 7. The Campaign Report without conversions and chart, for two campaigns (one never ran).
 * 8. The Campaign Store credential: n8n's credential test (SQLite at a chosen path, an
 *    unreachable PostgreSQL), and Record Event (Segment Track JSON input) into that chosen file.
 *
 * Run: `npm run build && npx jest --config jest.e2e.config.js --runInBand test/e2e/report-and-store.e2e.test.ts`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
	ensureN8nInstalled,
	installPackageTarball,
	packageRoot,
	packPackage,
	startN8n,
	type ExecutionDetails,
	type N8nInstance,
	type PublishedWorkflow,
	type WorkflowJson,
	type WorkflowNode,
} from './n8n-harness';
import {
	endE2eFile,
	defaultStorePath,
	describeRun,
	nodeOutput,
	postEvents,
	seconds,
	startRecordingProvider,
	trackEvent,
	withLogTail,
	withSqliteStore,
	type RecordingProvider,
} from './campaign-e2e-helpers';

const PKG = 'n8n-nodes-triggered-campaigns';
const CAMPAIGN_ID = 'e2e-report';
const TOKEN = 'e2e-report-token-7f3a1c';
const USERS = Array.from({ length: 12 }, (_, i) => `r${i + 1}`);
const CONTROL_PERCENT = 30;
/** Two variants of equal weight; Send Message and the Dry Run get the same ones. */
const VARIANTS = {
	variant: [
		{ name: 'A', weight: 1, body: 'A: cart {{ event.properties.cart_id }} is waiting' },
		{ name: 'B', weight: 1, body: 'B: come back for {{ event.properties.cart_id }}' },
	],
};
const textFor = (variant: string, userId: string) =>
	variant === 'A' ? `A: cart ${cartOf(userId)} is waiting` : `B: come back for ${cartOf(userId)}`;
const cartOf = (userId: string) => `cart-${userId}`;

type Item = { json: Record<string, unknown>; binary?: Record<string, Record<string, unknown>> };

function node(
	name: string,
	type: string,
	x: number,
	parameters: Record<string, unknown>,
	extra: Partial<WorkflowNode> = {},
): WorkflowNode {
	return {
		id: randomUUID(),
		name,
		type: type.includes('.') ? type : `${PKG}.${type}`,
		typeVersion: 1,
		position: [x, 0],
		parameters,
		...extra,
	};
}
const to = (name: string) => [{ node: name, type: 'main', index: 0 }];

/** A stock Webhook that answers with the JSON of every item of the last node. */
function webhookNode(pathName: string): WorkflowNode {
	return node(
		'Webhook',
		'n8n-nodes-base.webhook',
		0,
		{
			httpMethod: 'POST',
			path: pathName,
			responseMode: 'lastNode',
			responseData: 'allEntries',
			options: {},
		},
		{ typeVersion: 2, webhookId: randomUUID() },
	);
}

/** Webhook → one node of this package, answering with that node's items. */
function webhookWorkflow(name: string, pathName: string, step: WorkflowNode): WorkflowJson {
	return {
		name,
		nodes: [webhookNode(pathName), { ...step, position: [260, 0] }],
		connections: { Webhook: { main: [to(step.name)] } },
		settings: { executionOrder: 'v1' },
	};
}

function campaignWorkflow(providerUrl: string, token: { id: string; name: string }): WorkflowJson {
	return {
		name: 'e2e report campaign',
		nodes: [
			node(
				'Trigger',
				'campaignEventTrigger',
				0,
				{
					campaignId: CAMPAIGN_ID,
					eventNames: 'Added to Cart',
					reEntry: 'everyTime',
					authentication: 'headerToken',
					options: {},
				},
				{ webhookId: randomUUID(), credentials: { campaignWebhookTokenApi: token } },
			),
			node('Send Message', 'sendMessage', 260, {
				channel: 'http',
				httpMethod: 'POST',
				httpUrl: providerUrl,
				httpAuthentication: 'none',
				httpBody: '{"to": "{{ user.id }}", "text": "{{ message.body }}"}',
				body: 'Cart {{ event.properties.cart_id }} is waiting',
				variants: VARIANTS,
				options: { controlPercent: CONTROL_PERCENT },
			}),
			node('Sent', 'n8n-nodes-base.noOp', 520, {}),
			node('Control', 'n8n-nodes-base.noOp', 520, {}),
		],
		connections: {
			Trigger: { main: [to('Send Message')] },
			'Send Message': { main: [to('Sent'), [], to('Control'), []] },
		},
		settings: { executionOrder: 'v1' },
	};
}

const REPORT_PARAMETERS = {
	campaignIds: CAMPAIGN_ID,
	measureConversions: true,
	conversionEvents: 'Order Completed',
	matchProperty: 'cart_id',
	windowAmount: 7,
	windowUnit: 'days',
	windowFrom: 'send',
	includeChart: true,
};

const storeNode = (parameters: Record<string, unknown>) =>
	node('Campaign Store', 'campaignStore', 260, {
		userId: '={{ $json.body.userId }}',
		...parameters,
	});

const timings: Record<string, string> = {};
const evidence: string[] = [];

describe('Campaign Report and the Campaign Store operations about one person, inside a real n8n 2.41.0', () => {
	let tmp: string;
	let storePath: string;
	let n8n: N8nInstance | undefined;
	let provider: RecordingProvider | undefined;
	let campaign: PublishedWorkflow;
	const hooks: Record<string, PublishedWorkflow> = {};
	/** Filled by the first test: who Send Message sent to and who it held out. */
	let sentUsers: string[] = [];
	let controlUsers: string[] = [];
	/** Each user's variant, or `control`, as Send Message chose it. */
	const variantOf: Record<string, string> = {};
	const usersIn = (variant: string) => USERS.filter((userId) => variantOf[userId] === variant);
	/** Users who bought their own cart (count as conversions), and one who bought another. */
	let convertedSent: string[] = [];
	let convertedControl: string;
	let otherCartBuyer: string;
	let addedToCartAt: string;
	let reportBefore: Item[] = [];
	let chosenStorePath: string;
	let chosenStore: { id: string; name: string };

	const logged = (fn: () => Promise<void>) => withLogTail(() => n8n, fn, 80);
	const tokenHeader = { authorization: `Bearer ${TOKEN}` };

	/** Posts a JSON body to one of the webhook workflows; returns its items and the execution. */
	async function callWebhook(
		name: string,
		body: Record<string, unknown>,
	): Promise<{ items: Array<Record<string, unknown>>; execution: ExecutionDetails }> {
		const workflow = hooks[name];
		const before = (await n8n!.listExecutions(workflow.id)).length;
		const answer = await postEvents(workflow.webhooks[0].url, JSON.stringify(body));
		const executions = await n8n!.waitForExecutions(workflow.id, {
			count: before + 1,
			timeoutMs: 60_000,
		});
		const execution = await n8n!.getExecution(executions[0].id, true);
		if (answer.status !== 200 || execution.status !== 'success') {
			throw new Error(
				`${name}: HTTP ${answer.status} ${answer.text.slice(0, 500)}\n${describeRun(execution)}`,
			);
		}
		return { items: JSON.parse(answer.text) as Array<Record<string, unknown>>, execution };
	}

	const reportRows = async () => (await callWebhook('report', {})).items;
	/** A report row without the instant it was made, which differs between two runs. */
	const withoutTime = (rows: Array<Record<string, unknown>>) =>
		rows.map((row) => ({ ...row, reportedAt: undefined }));

	beforeAll(async () => {
		const installation = await ensureN8nInstalled();
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-report-store-'));
		let t = Date.now();
		const tgz = await packPackage(packageRoot(), path.join(tmp, 'packed'), { ignoreScripts: true });
		const userFolder = path.join(tmp, 'user');
		storePath = defaultStorePath(userFolder);
		await installPackageTarball(tgz, userFolder);
		timings.packAndInstall = seconds(Date.now() - t);

		provider = await startRecordingProvider();
		t = Date.now();
		n8n = await startN8n({ userFolder, installation });
		timings.startN8n = `${seconds(Date.now() - t)} (spawn -> ready ${seconds(n8n.startupMs)})`;

		t = Date.now();
		chosenStorePath = path.join(tmp, 'chosen', 'campaigns.sqlite');
		fs.mkdirSync(path.dirname(chosenStorePath));
		chosenStore = await n8n.createCredential(
			'e2e SQLite store at a chosen path',
			'campaignStoreApi',
			{
				backend: 'sqlite',
				filePath: chosenStorePath,
			},
		);
		const token = await n8n.createCredential('e2e webhook token', 'campaignWebhookTokenApi', {
			headerName: 'Authorization',
			token: TOKEN,
		});
		campaign = await n8n.importAndPublishWorkflow(campaignWorkflow(provider.url, token), {
			via: 'api',
		});
		const workflows: Record<string, WorkflowJson> = {
			report: webhookWorkflow(
				'e2e report',
				'e2e-report',
				node('Campaign Report', 'campaignReport', 260, REPORT_PARAMETERS),
			),
			dryRun: webhookWorkflow(
				'e2e dry run',
				'e2e-dry-run',
				storeNode({
					operation: 'dryRun',
					eventName: 'Added to Cart',
					properties: '={{ $json.body.properties }}',
					testEventFields: { timestamp: '={{ $json.body.occurredAt }}' },
					campaignId: CAMPAIGN_ID,
					eventNames: 'Added to Cart',
					reEntry: 'everyTime',
					includeExceptionCheck: true,
					exceptionEvents: 'Order Completed',
					matchProperty: 'cart_id',
					includeSend: true,
					variants: VARIANTS,
					controlPercent: CONTROL_PERCENT,
				}),
			),
			dryRunWithDelayAndCap: webhookWorkflow(
				'e2e dry run with delay and cap',
				'e2e-dry-run-delay-cap',
				storeNode({
					operation: 'dryRun',
					eventName: 'Added to Cart',
					properties: '={{ $json.body.properties }}',
					testEventFields: { timestamp: '={{ $json.body.occurredAt }}' },
					campaignId: CAMPAIGN_ID,
					eventNames: 'Added to Cart',
					reEntry: 'everyTime',
					includeExceptionCheck: true,
					exceptionEvents: 'Order Completed',
					matchProperty: 'cart_id',
					includeDelay: true,
					mode: 'afterEvent',
					amount: 30,
					unit: 'minutes',
					includeFrequencyCap: true,
					channel: 'http',
					quietHours: false,
					rules: {
						rule: [
							{
								maxMessages: 1,
								window: 'rolling',
								amount: 7,
								unit: 'days',
								scope: 'all',
								channelScope: 'any',
							},
						],
					},
					includeSend: true,
					variants: VARIANTS,
					controlPercent: CONTROL_PERCENT,
				}),
			),
			upsertProfile: webhookWorkflow(
				'e2e upsert profile',
				'e2e-upsert-profile',
				storeNode({
					operation: 'upsertProfile',
					profileFields: {
						email: '={{ $json.body.email }}',
						timeZone: 'Europe/Berlin',
						attributes: '{"plan": "pro"}',
					},
				}),
			),
			getProfile: webhookWorkflow(
				'e2e get profile',
				'e2e-get-profile',
				storeNode({ operation: 'getProfile' }),
			),
			timeline: webhookWorkflow(
				'e2e timeline',
				'e2e-timeline',
				storeNode({
					operation: 'getTimeline',
					campaignId: '',
					conversionEvents: 'Order Completed',
					conversionOptions: { matchProperty: 'cart_id', windowDays: 7 },
				}),
			),
			exportUserData: webhookWorkflow(
				'e2e export',
				'e2e-export',
				storeNode({
					operation: 'exportUserData',
					conversionEvents: 'Order Completed',
					conversionOptions: { matchProperty: 'cart_id' },
				}),
			),
			eraseUser: webhookWorkflow('e2e erase', 'e2e-erase', storeNode({ operation: 'eraseUser' })),
			reportOptions: webhookWorkflow(
				'e2e report without conversions',
				'e2e-report-options',
				node('Campaign Report', 'campaignReport', 260, {
					campaignIds: `${CAMPAIGN_ID}, e2e-never-ran`,
					measureConversions: false,
					includeChart: false,
				}),
			),
			recordEventToChosenFile: webhookWorkflow(
				'e2e record event into a chosen SQLite file',
				'e2e-record-event',
				node(
					'Campaign Store',
					'campaignStore',
					260,
					{ operation: 'recordEvent', input: 'json', eventJson: '={{ $json.body }}' },
					{ credentials: { campaignStoreApi: chosenStore } },
				),
			),
		};
		for (const [name, workflow] of Object.entries(workflows))
			hooks[name] = await n8n.importAndPublishWorkflow(workflow, { via: 'api' });
		timings.credentialsAnd11Workflows = seconds(Date.now() - t);
	});

	afterAll(async () => {
		const logPath = n8n?.logPath;
		await n8n?.stop();
		await provider?.close();
		endE2eFile('report-and-store', {
			timings,
			logPath,
			evidence,
			tmp,
		});
	});

	it(
		'the campaign sends to some users through the provider and holds the others out as control; a request without the token gets 401 and records nothing',
		logged(async () => {
			const url = campaign.webhooks[0].url;
			addedToCartAt = new Date(Date.now() - 60_000).toISOString();
			const batch = JSON.stringify({
				batch: USERS.map((userId) =>
					trackEvent(
						userId,
						'Added to Cart',
						{ cart_id: cartOf(userId) },
						{ messageId: `e2e-report-cart-${userId}`, timestamp: addedToCartAt },
					),
				),
			});
			const refused = await postEvents(url, batch);
			expect(refused.status).toBe(401);
			const wrongToken = await postEvents(url, batch, { authorization: 'Bearer not-the-token' });
			expect(wrongToken.status).toBe(401);
			expect(await n8n!.listExecutions(campaign.id)).toHaveLength(0);
			await withSqliteStore(storePath, async (store) => {
				expect(await store.getProfiles(USERS)).toEqual(new Map());
				expect(
					await store.findEvents({ userId: 'r1', names: ['Added to Cart'], after: 0 }),
				).toEqual([]);
			});

			const t = Date.now();
			const answer = await postEvents(url, batch, tokenHeader);
			expect({ status: answer.status, body: answer.json }).toEqual({
				status: 202,
				body: { accepted: 12, duplicates: 0, triggered: 12 },
			});
			const [summary] = await n8n!.waitForExecutions(campaign.id, { count: 1, timeoutMs: 90_000 });
			const execution = await n8n!.getExecution(summary.id, true);
			timings.campaignExecution = seconds(Date.now() - t);
			evidence.push(`campaign: ${describeRun(execution).replace(/\n\s*/g, '; ')}`);
			expect(execution.status).toBe('success');
			const sent = nodeOutput(execution, 'Send Message', 0) ?? [];
			const control = nodeOutput(execution, 'Send Message', 2) ?? [];
			sentUsers = sent.map((item) => String(item.json.userId));
			controlUsers = control.map((item) => String(item.json.userId));
			for (const item of [...sent, ...control]) {
				variantOf[String(item.json.userId)] = String(
					(item.json.send as Record<string, unknown>).variant,
				);
			}
			expect({
				failed: nodeOutput(execution, 'Send Message', 1),
				unsubscribed: nodeOutput(execution, 'Send Message', 3),
				everyone: [...sentUsers, ...controlUsers].sort(),
				controlVariants: controlUsers.map((userId) => variantOf[userId]),
			}).toEqual({
				failed: [],
				unsubscribed: [],
				everyone: [...USERS].sort(),
				controlVariants: controlUsers.map(() => 'control'),
			});
			// The split is a hash of campaign and user: fixed, and this campaign has every group
			// large enough for the conversions below.
			expect(usersIn('A').length).toBeGreaterThanOrEqual(3);
			expect(usersIn('B').length).toBeGreaterThanOrEqual(1);
			expect(controlUsers.length).toBeGreaterThanOrEqual(1);
			expect(usersIn('A').length + usersIn('B').length).toBe(sentUsers.length);
			// Each sent user got their variant's text, rendered for them.
			expect(provider!.requests.map((r) => r.body)).toEqual(
				sentUsers.map((userId) => ({ to: userId, text: textFor(variantOf[userId], userId) })),
			);
			evidence.push(
				`A: ${usersIn('A').join(', ')}; B: ${usersIn('B').join(', ')}; control: ${controlUsers.join(', ')}`,
			);
		}),
	);

	it(
		'conversions posted through the trigger are recorded and start nothing',
		logged(async () => {
			// Two A users and one B user buy their cart, a third A user buys another cart.
			convertedSent = [usersIn('A')[0], usersIn('A')[1], usersIn('B')[0]];
			otherCartBuyer = usersIn('A')[2];
			convertedControl = controlUsers[0];
			const now = new Date().toISOString();
			const order = (userId: string, cart: string) =>
				trackEvent(
					userId,
					'Order Completed',
					{ cart_id: cart },
					{ messageId: `e2e-report-order-${userId}`, timestamp: now },
				);
			const answer = await postEvents(
				campaign.webhooks[0].url,
				JSON.stringify({
					batch: [
						...convertedSent.map((userId) => order(userId, cartOf(userId))),
						order(convertedControl, cartOf(convertedControl)),
						order(otherCartBuyer, 'some-other-cart'),
					],
				}),
				tokenHeader,
			);
			expect({ status: answer.status, body: answer.json }).toEqual({
				status: 202,
				body: { accepted: 5, duplicates: 0, triggered: 0 },
			});
			// Still the one execution of the cart events.
			expect(await n8n!.listExecutions(campaign.id)).toHaveLength(1);
		}),
	);

	it(
		'the Campaign Report counts the funnel per variant and control, the conversions and the lift, and attaches the SVG chart',
		logged(async () => {
			const t = Date.now();
			const { items, execution } = await callWebhook('report', {});
			timings.report = seconds(Date.now() - t);
			reportBefore = items.map((json) => ({ json }));
			const nA = usersIn('A').length;
			const nB = usersIn('B').length;
			const C = controlUsers.length;
			const conversion = {
				events: ['Order Completed'],
				matchProperty: 'cart_id',
				windowHours: 168,
				windowFrom: 'send',
			};
			const common = {
				campaignId: CAMPAIGN_ID,
				exited: 0,
				exitedByReason: {},
				capped: 0,
				deferred: 0,
				failed: 0,
				enteredFrom: null,
				enteredBefore: null,
				conversion,
			};
			const sentRow = (n: number, converted: number) => ({
				...common,
				entered: n,
				sent: n,
				messagesSent: n,
				control: 0,
				measured: n,
				converted,
				conversionRate: converted / n,
			});
			expect(items.map((row) => row.variant)).toEqual(['A', 'B', 'control', 'total']);
			const [a, b, control, total] = items;
			expect(a).toMatchObject(sentRow(nA, 2));
			expect(b).toMatchObject(sentRow(nB, 1));
			expect(control).toMatchObject({
				...common,
				entered: C,
				sent: 0,
				messagesSent: 0,
				control: C,
				measured: C,
				converted: 1,
				conversionRate: 1 / C,
				lift: null,
				verdict: null,
			});
			expect(total).toMatchObject({
				...common,
				entered: 12,
				sent: nA + nB,
				messagesSent: nA + nB,
				control: C,
				measured: 12,
				converted: 4,
				conversionRate: 4 / 12,
				lift: null,
			});
			// Each variant against control: the difference of the rates, with its interval and test.
			for (const [variant, rate] of [
				[a, 2 / nA],
				[b, 1 / nB],
			] as const) {
				expect(variant.lift as number).toBeCloseTo(rate - 1 / C, 10);
				expect(variant.relativeLift as number).toBeCloseTo((rate - 1 / C) / (1 / C), 10);
				expect(variant.liftLow as number).toBeLessThan(variant.lift as number);
				expect(variant.liftHigh as number).toBeGreaterThan(variant.lift as number);
				expect(variant.pValue as number).toBeGreaterThan(0);
				expect(variant.pValue as number).toBeLessThanOrEqual(1);
				expect(String(variant.verdict)).not.toBe('');
			}
			for (const row of [a, b, control, total]) {
				expect(row.conversionRateLow as number).toBeLessThanOrEqual(row.conversionRate as number);
				expect(row.conversionRateHigh as number).toBeGreaterThanOrEqual(
					row.conversionRate as number,
				);
			}
			evidence.push(
				`report: ${JSON.stringify(items.map((r) => [r.variant, r.entered, r.converted, r.lift]))}`,
			);

			// The chart: on the total item only, as an SVG file n8n stored as binary data.
			const output = nodeOutput(execution, 'Campaign Report') as Item[];
			expect(output.map((item) => Object.keys(item.binary ?? {}))).toEqual([[], [], [], ['chart']]);
			const chart = output[3].binary!.chart;
			expect(chart).toMatchObject({
				mimeType: 'image/svg+xml',
				fileName: `campaign-report-${CAMPAIGN_ID}.svg`,
				fileExtension: 'svg',
			});
			const svg = await binaryContent(n8n!, chart);
			evidence.push(`chart: ${String(chart.id ?? '(inline)')}, ${svg.length} characters`);
			expect(svg.startsWith('<svg') || svg.startsWith('<?xml')).toBe(true);
			expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
			expect(svg).toContain(`Campaign ${CAMPAIGN_ID}`);
			expect(svg).toContain('>A<');
			expect(svg).toContain('>B<');
			expect(svg).toContain('>control<');
		}),
	);

	it(
		'Dry Run names the variant or control group Send Message really chose, lets the buyers exit, and writes nothing',
		logged(async () => {
			const requestsBefore = provider!.requests.length;
			const answers: Record<string, Record<string, unknown>> = {};
			for (const userId of [...USERS, 'r-new']) {
				const { items } = await callWebhook('dryRun', {
					userId,
					properties: { cart_id: cartOf(userId) },
					occurredAt: addedToCartAt,
				});
				expect(items).toHaveLength(1);
				answers[userId] = items[0];
			}
			const stepOf = (userId: string, step: string) =>
				(answers[userId].steps as Array<Record<string, unknown>>).find((s) => s.step === step);
			for (const userId of USERS) {
				const bought = [...convertedSent, convertedControl].includes(userId);
				expect({
					userId,
					dryRun: answers[userId].dryRun,
					outcome: answers[userId].outcome,
				}).toEqual({
					userId,
					dryRun: true,
					outcome: bought ? 'exits' : controlUsers.includes(userId) ? 'heldOutAsControl' : 'sends',
				});
				expect(stepOf(userId, 'trigger')).toMatchObject({ entered: true });
				expect(stepOf(userId, 'exceptionCheck')).toMatchObject({ exits: bought });
				if (!bought) {
					const control = controlUsers.includes(userId);
					// The Dry Run names no variant for a control-group user, and previews the
					// variant's text for the others: the text the provider got.
					expect(stepOf(userId, 'send')).toMatchObject(
						control
							? { control: true, variant: null }
							: {
									control: false,
									variant: variantOf[userId],
									preview: { body: textFor(variantOf[userId], userId) },
								},
					);
				}
			}
			expect(stepOf(convertedSent[0], 'exceptionCheck')).toMatchObject({
				exits: true,
				event: { name: 'Order Completed', messageId: `e2e-report-order-${convertedSent[0]}` },
			});
			// The buyer of another cart does not exit: the Match Property is the cart.
			expect(stepOf(otherCartBuyer, 'exceptionCheck')).toMatchObject({ exits: false });
			evidence.push(
				`dry run: ${JSON.stringify(Object.entries(answers).map(([u, a]) => [u, a.outcome]))}`,
			);

			// Nothing was recorded, entered, reserved or sent.
			expect(provider!.requests.length).toBe(requestsBefore);
			await withSqliteStore(storePath, async (store) => {
				expect(await store.getProfiles(['r-new'])).toEqual(new Map());
				expect(await store.findEntries({ campaignId: CAMPAIGN_ID, userId: 'r-new' })).toEqual([]);
			});
			expect(withoutTime(await reportRows())).toEqual(
				withoutTime(reportBefore.map((item) => item.json)),
			);
		}),
	);

	it(
		'Dry Run with the Delay (30 minutes after the event) and a Frequency Cap (1 message in 7 days): a sent user would be capped by rule 1, a control user held out, a buyer exits at the end of the delay',
		logged(async () => {
			const sentNotBought = usersIn('A').find(
				(userId) => ![...convertedSent, otherCartBuyer].includes(userId),
			)!;
			const controlNotBought = controlUsers.find((userId) => userId !== convertedControl)!;
			const resumeAt = new Date(Date.parse(addedToCartAt) + 30 * 60_000).toISOString();
			const outcomes: Record<string, unknown> = {};
			for (const userId of [convertedSent[0], sentNotBought, controlNotBought, 'r-new']) {
				const [answer] = (
					await callWebhook('dryRunWithDelayAndCap', {
						userId,
						properties: { cart_id: cartOf(userId) },
						occurredAt: addedToCartAt,
					})
				).items;
				const steps = answer.steps as Array<Record<string, unknown>>;
				const step = (name: string) => steps.find((s) => s.step === name);
				outcomes[userId] = answer.outcome;
				expect(step('delay')).toMatchObject({ resumeAt });
				if (userId === convertedSent[0]) {
					expect(step('exceptionCheck')).toMatchObject({ exits: true, evaluatedAt: resumeAt });
					expect(step('frequencyCap')).toBeUndefined();
				} else if (userId === sentNotBought) {
					expect(step('frequencyCap')).toMatchObject({ decision: 'capped', rules: ['1'] });
					expect(step('send')).toBeUndefined();
				} else if (userId === controlNotBought) {
					expect(step('frequencyCap')).toMatchObject({ decision: 'allowed', rules: [] });
					expect(step('send')).toMatchObject({ control: true, variant: null });
				} else {
					expect(step('frequencyCap')).toMatchObject({ decision: 'allowed' });
					const send = step('send')!;
					if (send.control !== true) {
						expect(send.preview).toEqual({ body: textFor(String(send.variant), 'r-new') });
					}
				}
			}
			evidence.push(`dry run with delay and cap: ${JSON.stringify(outcomes)}`);
			expect(outcomes).toEqual({
				[convertedSent[0]]: 'exits',
				[sentNotBought]: 'capped',
				[controlNotBought]: 'heldOutAsControl',
				'r-new': expect.stringMatching(/^(sends|heldOutAsControl)$/),
			});
		}),
	);

	it(
		'Upsert and Get Profile, then Get Timeline in time order and Export User Data with everything stored about the user',
		logged(async () => {
			const userId = convertedSent[0];
			const upserted = (
				await callWebhook('upsertProfile', { userId, email: `${userId}@example.com` })
			).items;
			expect(upserted).toEqual([
				expect.objectContaining({
					userId,
					email: `${userId}@example.com`,
					timeZone: 'Europe/Berlin',
					attributes: { plan: 'pro' },
					unsubscribed: false,
				}),
			]);
			expect((await callWebhook('getProfile', { userId })).items).toEqual([
				expect.objectContaining({ found: true, userId, email: `${userId}@example.com` }),
			]);
			expect((await callWebhook('getProfile', { userId: 'nobody' })).items).toEqual([
				{ found: false, userId: 'nobody' },
			]);

			const [timeline] = (await callWebhook('timeline', { userId })).items;
			const decisions = timeline.decisions as Array<Record<string, unknown>>;
			evidence.push(
				`timeline of ${userId}: ${decisions.map((d) => `${String(d.time)} ${String(d.kind)}`).join('; ')}`,
			);
			expect(timeline.userId).toBe(userId);
			const ats = decisions.map((d) => Number(d.at));
			expect(ats).toEqual([...ats].sort((a, b) => a - b));
			// The cart event, the entry, the send, the order, the conversion, in this order.
			const indexOf = (kind: string, event?: string) =>
				decisions.findIndex((d) => d.kind === kind && (event === undefined || d.event === event));
			const order = [
				indexOf('eventRecorded', 'Added to Cart'),
				indexOf('entered'),
				indexOf('sent'),
				indexOf('eventRecorded', 'Order Completed'),
				indexOf('converted'),
			];
			expect(order.every((index) => index >= 0)).toBe(true);
			expect(order).toEqual([...order].sort((a, b) => a - b));
			expect(decisions.find((d) => d.kind === 'sent')).toMatchObject({
				campaignId: CAMPAIGN_ID,
				channel: 'http',
				variant: variantOf[userId],
				providerMessageId: expect.stringMatching(/^msg-\d+$/),
			});
			expect(decisions.find((d) => d.kind === 'converted')).toMatchObject({
				campaignId: CAMPAIGN_ID,
				event: 'Order Completed',
				messageId: `e2e-report-order-${userId}`,
			});

			const [exported] = (await callWebhook('exportUserData', { userId })).items;
			const providerMessageId = `msg-${sentUsers.indexOf(userId) + 1}`;
			expect(exported).toMatchObject({
				userId,
				campaignId: null,
				profile: { userId, email: `${userId}@example.com`, attributes: { plan: 'pro' } },
				entries: [expect.objectContaining({ campaignId: CAMPAIGN_ID, userId })],
				sends: [
					expect.objectContaining({
						userId,
						campaignId: CAMPAIGN_ID,
						state: 'sent',
						providerMessageId,
					}),
				],
			});
			expect((exported.events as Array<Record<string, unknown>>).map((e) => e.name)).toEqual([
				'Added to Cart',
				'Order Completed',
			]);
			expect((exported.timeline as Record<string, unknown>).decisions).toEqual(
				decisions.map((d) => expect.objectContaining({ kind: d.kind, at: d.at })),
			);
		}),
	);

	it(
		'Erase User removes a converted sent user and a converted control user; the Campaign Report stays identical',
		logged(async () => {
			const erased = [convertedSent[0], convertedControl];
			for (const userId of erased) {
				const [answer] = (await callWebhook('eraseUser', { userId })).items;
				evidence.push(`erase ${userId}: ${JSON.stringify(answer)}`);
				expect(answer).toMatchObject({ userId, erased: true });
				expect(String(answer.message)).toContain(`Erased user ${userId}`);
				expect(answer.anonymized).toMatchObject({ campaign_entries: 1 });
			}
			// Nothing about them is left to read.
			for (const userId of erased) {
				expect((await callWebhook('getProfile', { userId })).items).toEqual([
					{ found: false, userId },
				]);
				const [timeline] = (await callWebhook('timeline', { userId })).items;
				expect(timeline.decisions).toEqual([]);
			}
			await withSqliteStore(storePath, async (store) => {
				for (const userId of erased) {
					expect(await store.findEntries({ campaignId: CAMPAIGN_ID, userId })).toEqual([]);
					expect(await store.findEvents({ userId, names: [], after: 0 })).toEqual([]);
				}
			});
			// A second erasure finds nothing.
			const [again] = (await callWebhook('eraseUser', { userId: erased[0] })).items;
			expect(again).toMatchObject({ userId: erased[0], erased: false });

			expect(withoutTime(await reportRows())).toEqual(
				withoutTime(reportBefore.map((item) => item.json)),
			);
		}),
	);

	it(
		'the Campaign Report without conversions or chart: counts only, one total per campaign, also for a campaign that never ran',
		logged(async () => {
			const { items, execution } = await callWebhook('reportOptions', {});
			expect(items.map((row) => [row.campaignId, row.variant])).toEqual([
				[CAMPAIGN_ID, 'A'],
				[CAMPAIGN_ID, 'B'],
				[CAMPAIGN_ID, 'control'],
				[CAMPAIGN_ID, 'total'],
				['e2e-never-ran', 'total'],
			]);
			const before = Object.fromEntries(
				reportBefore.map((item) => [String(item.json.variant), item.json]),
			);
			for (const row of items.slice(0, 4)) {
				const earlier = before[String(row.variant)];
				expect(row).toMatchObject({
					entered: earlier.entered,
					sent: earlier.sent,
					control: earlier.control,
					conversion: null,
					conversionRate: null,
					lift: null,
					pValue: null,
				});
			}
			expect(items[4]).toMatchObject({ entered: 0, sent: 0, control: 0, conversionRate: null });
			const output = nodeOutput(execution, 'Campaign Report') as Item[];
			expect(output.every((item) => item.binary === undefined)).toBe(true);
		}),
	);

	it(
		"the Campaign Store credential: n8n's credential test connects to SQLite at a chosen path and names the problem of an unreachable PostgreSQL; Record Event (Segment Track JSON) writes to the chosen file, once per message id",
		logged(async () => {
			// As the editor's "Retry" of a saved credential: its id with the data it holds.
			const test = async (
				credential: { id: string; name: string },
				data: Record<string, unknown>,
			) =>
				(
					await n8n!.rest<{ data: { status: string; message: string } }>(
						'POST',
						'/rest/credentials/test',
						{ credentials: { ...credential, type: 'campaignStoreApi', data } },
					)
				).data;
			expect(await test(chosenStore, { backend: 'sqlite', filePath: chosenStorePath })).toEqual({
				status: 'OK',
				message: 'Connected to the sqlite campaign store',
			});
			const unreachableData = {
				backend: 'postgres',
				host: '127.0.0.1',
				port: 1,
				database: 'test',
				user: 'postgres',
				password: '',
				ssl: 'disable',
				schema: 'triggered_campaigns',
			};
			const unreachable = await test(
				await n8n!.createCredential(
					'e2e unreachable PostgreSQL store',
					'campaignStoreApi',
					unreachableData,
				),
				unreachableData,
			);
			evidence.push(`credential test of an unreachable PostgreSQL: ${JSON.stringify(unreachable)}`);
			expect(unreachable).toEqual({
				status: 'Error',
				message: expect.stringMatching(
					/^Cannot connect to PostgreSQL at 127\.0\.0\.1:1\/test: .*Check host, port, database, user and password in the Campaign Store credential\.$/,
				),
			});

			const event = trackEvent(
				'chosen-1',
				'Order Completed',
				{ cart_id: 'cart-chosen' },
				{ messageId: 'e2e-chosen-store-1', timestamp: new Date().toISOString() },
			);
			const first = (await callWebhook('recordEventToChosenFile', event)).items;
			expect(first).toEqual([
				expect.objectContaining({
					recorded: true,
					duplicate: false,
					messageId: 'e2e-chosen-store-1',
					userId: 'chosen-1',
					event: 'Order Completed',
				}),
			]);
			const again = (await callWebhook('recordEventToChosenFile', event)).items;
			expect(again).toEqual([expect.objectContaining({ recorded: false, duplicate: true })]);
			await withSqliteStore(chosenStorePath, async (store) => {
				const events = await store.findEvents({ userId: 'chosen-1', names: [], after: 0 });
				expect(events.map((e) => [e.messageId, e.name, e.properties])).toEqual([
					['e2e-chosen-store-1', 'Order Completed', { cart_id: 'cart-chosen' }],
				]);
			});
			// Not in the default store of the user folder.
			await withSqliteStore(storePath, async (store) => {
				expect(await store.findEvents({ userId: 'chosen-1', names: [], after: 0 })).toEqual([]);
			});
		}),
	);
});

/**
 * The bytes of a binary property n8n stored for an execution: inline base64 when n8n kept it in
 * the execution, else through the editor's endpoint `GET /rest/binary-data` (filesystem mode).
 */
async function binaryContent(n8n: N8nInstance, binary: Record<string, unknown>): Promise<string> {
	if (typeof binary.data === 'string' && !binary.id) {
		return Buffer.from(binary.data, 'base64').toString('utf8');
	}
	const query = new URLSearchParams({
		id: String(binary.id),
		action: 'download',
		mimeType: String(binary.mimeType),
		fileName: String(binary.fileName),
	});
	return await n8n.rest<string>('GET', `/rest/binary-data?${query.toString()}`);
}
