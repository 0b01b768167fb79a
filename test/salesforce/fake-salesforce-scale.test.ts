/**
 * The fake must serve a million generated rows without holding them: Bulk CSV pages are
 * streamed row by row and REST cursors keep only row indexes.
 */
import { FakeSalesforce, trialContacts } from '../support/fake-salesforce';

delete process.env.HTTP_PROXY;
delete process.env.HTTPS_PROXY;

const VERSION = '62.0';

describe('FakeSalesforce at a million rows', () => {
	let fake: FakeSalesforce;
	let headers: Record<string, string>;
	beforeAll(async () => {
		fake = await FakeSalesforce.start({
			now: Date.parse('2026-11-23T10:00:00Z'),
			bulkPollsUntilComplete: 0,
		});
		fake.addConnectedApp({ clientId: 'c', clientSecret: 's' });
		fake.addUser({ username: 'u@example.com', password: 'p' });
		for (const set of trialContacts({ count: 1_000_000, seed: 11, now: fake.now() })) {
			fake.defineGeneratedObject(set.schema, set.count, set.generate, set.options);
		}
		const token = (await fetch(`${fake.url}/services/oauth2/token`, {
			method: 'POST',
			body: new URLSearchParams({
				grant_type: 'password',
				client_id: 'c',
				client_secret: 's',
				username: 'u@example.com',
				password: 'p',
			}),
		}).then((response) => response.json())) as { access_token: string };
		headers = { Authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' };
	});
	afterAll(async () => {
		await fake.close();
	});

	it('streams 1,000,000 rows of Bulk CSV in locator pages with flat memory', async () => {
		const base = `${fake.url}/services/data/v${VERSION}/jobs/query`;
		const job = (await fetch(base, {
			method: 'POST',
			headers,
			body: JSON.stringify({
				operation: 'query',
				query:
					'SELECT Id, Email, Time_Zone__c, Trial_End__c, Account.Name, SystemModstamp FROM Contact',
			}),
		}).then((response) => response.json())) as { id: string };
		expect(
			await fetch(`${base}/${job.id}`, { headers }).then((response) => response.json()),
		).toMatchObject({ state: 'JobComplete' });

		const heapBefore = process.memoryUsage().heapUsed;
		let peakHeap = heapBefore;
		let rows = 0;
		let pages = 0;
		let locator: string | null = null;
		do {
			const query: string = `?maxRecords=250000${locator ? `&locator=${locator}` : ''}`;
			const response = await fetch(`${base}/${job.id}/results${query}`, { headers });
			// Count lines from the stream without keeping the page.
			let pageLines = 0;
			for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
				for (const byte of chunk) if (byte === 10) pageLines++;
				peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
			}
			rows += pageLines - 1;
			pages++;
			locator = response.headers.get('sforce-locator');
		} while (locator && locator !== 'null');
		expect(rows).toBe(1_000_000);
		expect(pages).toBe(4);
		expect(peakHeap - heapBefore).toBeLessThan(300 * 1024 * 1024);
	}, 120_000);

	it('pages a large REST result from a compact cursor', async () => {
		const soql =
			'SELECT Id, SystemModstamp FROM Contact WHERE Trial_End__c = NEXT_N_DAYS:3 ORDER BY SystemModstamp, Id';
		let page = (await fetch(
			`${fake.url}/services/data/v${VERSION}/query?q=${encodeURIComponent(soql)}`,
			{ headers },
		).then((response) => response.json())) as {
			totalSize: number;
			done: boolean;
			nextRecordsUrl?: string;
			records: Array<{ SystemModstamp: string }>;
		};
		const total = page.totalSize;
		expect(total).toBeGreaterThan(40_000);
		let seen = page.records.length;
		let previous = '';
		while (!page.done) {
			page = (await fetch(`${fake.url}${page.nextRecordsUrl}`, { headers }).then((response) =>
				response.json(),
			)) as typeof page;
			seen += page.records.length;
			expect(page.records[0].SystemModstamp >= previous).toBe(true);
			previous = page.records[page.records.length - 1].SystemModstamp;
		}
		expect(seen).toBe(total);
	}, 120_000);
});
