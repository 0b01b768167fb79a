/** Streaming parse of one Bulk API 2.0 CSV results page into batches of typed records. */
import { Readable } from 'node:stream';

import type { SalesforceRecord } from '../../src/salesforce/api/types';
import { parseCsvPages } from '../../src/salesforce/bulk/csv-records';
import type { FieldTypes } from '../../src/salesforce/records';

const types: FieldTypes = new Map([
	['id', 'string'],
	['name', 'string'],
	['notes__c', 'string'],
	['seats__c', 'number'],
	['active__c', 'boolean'],
	['account.name', 'string'],
]);

/** Deterministic pseudo-random chunk sizes of 1 to 7 bytes, cutting anywhere in the bytes. */
function tinyChunks(text: string, seed = 7): Readable {
	const bytes = Buffer.from(text, 'utf8');
	const chunks: Buffer[] = [];
	let state = seed;
	for (let offset = 0; offset < bytes.length; ) {
		state = (state * 1103515245 + 12345) % 2 ** 31;
		const size = 1 + (state % 7);
		chunks.push(bytes.subarray(offset, offset + size));
		offset += size;
	}
	return Readable.from(chunks);
}

async function readAll(
	body: Readable,
	batchSize?: number,
): Promise<{ records: SalesforceRecord[]; batches: number[] }> {
	const records: SalesforceRecord[] = [];
	const batches: number[] = [];
	for await (const batch of parseCsvPages(body, { fieldTypes: types, batchSize })) {
		batches.push(batch.length);
		records.push(...batch);
	}
	return { records, batches };
}

const TRICKY_PAGE =
	'"Id","Name","Notes__c","Seats__c","Active__c","Account.Name"\n' +
	'"003A","Zoë 東京 Ñandú","a, b, and c","3","true","Acme, Inc."\n' +
	'"003B","Say ""hi""","line one\nline two\r\nline three","","false",""\n' +
	'"003C","","""quoted"", and, commas","0","",""\n' +
	'"003D","🙂 emoji","ends with quote""","12.5","true","Ünïcödé GmbH"\n';

const TRICKY_RECORDS: SalesforceRecord[] = [
	{
		Id: '003A',
		Name: 'Zoë 東京 Ñandú',
		Notes__c: 'a, b, and c',
		Seats__c: 3,
		Active__c: true,
		'Account.Name': 'Acme, Inc.',
	},
	{
		Id: '003B',
		Name: 'Say "hi"',
		Notes__c: 'line one\nline two\r\nline three',
		Seats__c: null,
		Active__c: false,
		'Account.Name': null,
	},
	{
		Id: '003C',
		Name: null,
		Notes__c: '"quoted", and, commas',
		Seats__c: 0,
		Active__c: null,
		'Account.Name': null,
	},
	{
		Id: '003D',
		Name: '🙂 emoji',
		Notes__c: 'ends with quote"',
		Seats__c: 12.5,
		Active__c: true,
		'Account.Name': 'Ünïcödé GmbH',
	},
];

describe('parseCsvPages', () => {
	it('parses quoted commas, newlines, doubled quotes, non-Latin text and nulls', async () => {
		const { records } = await readAll(Readable.from([Buffer.from(TRICKY_PAGE)]));
		expect(records).toEqual(TRICKY_RECORDS);
	});

	it.each([1, 2, 3, 5, 11, 42])(
		'gives the same records from 1-7 byte chunks (seed %i), cutting quotes and characters',
		async (seed) => {
			const { records } = await readAll(tinyChunks(TRICKY_PAGE, seed));
			expect(records).toEqual(TRICKY_RECORDS);
		},
	);

	it('splits a multi-byte character across chunks', async () => {
		const text = '"Id","Name"\n"1","東"\n';
		const bytes = Buffer.from(text);
		const cut = bytes.indexOf(Buffer.from('東')) + 1;
		const body = Readable.from([
			bytes.subarray(0, cut),
			bytes.subarray(cut, cut + 1),
			bytes.subarray(cut + 1),
		]);
		expect((await readAll(body)).records).toEqual([{ Id: '1', Name: '東' }]);
	});

	it('strips a BOM and reads CRLF line endings', async () => {
		const text = '\uFEFF"Id","Name","Seats__c"\r\n"1","Zoë","2"\r\n"2","",""\r\n';
		const { records } = await readAll(tinyChunks(text));
		expect(records).toEqual([
			{ Id: '1', Name: 'Zoë', Seats__c: 2 },
			{ Id: '2', Name: null, Seats__c: null },
		]);
	});

	it('strips a BOM that arrives one byte at a time', async () => {
		const bytes = Buffer.from('\uFEFF"Id","Name"\r\n"1","Ñ"\r\n');
		const body = Readable.from([...bytes].map((byte) => Buffer.from([byte])));
		expect((await readAll(body)).records).toEqual([{ Id: '1', Name: 'Ñ' }]);
	});

	it('keeps a one-column row whose value is null (an empty line)', async () => {
		const { records } = await readAll(Readable.from(['"Name"\n"a"\n\n"b"\n']));
		expect(records).toEqual([{ Name: 'a' }, { Name: null }, { Name: 'b' }]);
	});

	it('reads unquoted values and a last row without a line break', async () => {
		const { records } = await readAll(Readable.from(['Id,Seats__c\n1,4\n2,5']));
		expect(records).toEqual([
			{ Id: '1', Seats__c: 4 },
			{ Id: '2', Seats__c: 5 },
		]);
	});

	it('yields nothing for a header-only or empty page', async () => {
		expect((await readAll(Readable.from(['"Id","Name"\n']))).batches).toEqual([]);
		expect((await readAll(Readable.from([]))).batches).toEqual([]);
	});

	it('fails on malformed CSV and on a body that breaks off', async () => {
		await expect(readAll(Readable.from(['"Id"\n"unterminated\n']))).rejects.toThrow(/quote/i);
		const broken = new Readable({
			read() {
				this.push('"Id"\n"1"\n');
				this.destroy(new Error('socket hang up'));
			},
		});
		await expect(readAll(broken)).rejects.toThrow('socket hang up');
	});

	it('parses a 200,000-row page in batches without reading ahead of the consumer', async () => {
		const rows = 200_000;
		let produced = 0;
		function* page(): Generator<string> {
			yield '"Id","Name","Seats__c","Active__c"\n';
			for (let index = 0; index < rows; index += 100) {
				let chunk = '';
				for (let row = index; row < Math.min(rows, index + 100); row++) {
					chunk += `"${row}","Zoë, ""${row}""","${row % 50}","${row % 2 === 0}"\n`;
				}
				produced = Math.min(rows, index + 100);
				yield chunk;
			}
		}
		const body = Readable.from(page(), { objectMode: false });
		let count = 0;
		let maxBatch = 0;
		let maxReadAhead = 0;
		let last: SalesforceRecord | undefined;
		for await (const batch of parseCsvPages(body, { fieldTypes: types, batchSize: 2_000 })) {
			count += batch.length;
			maxBatch = Math.max(maxBatch, batch.length);
			// Rows produced but not yet handed over: bounded by stream buffers, not the page.
			maxReadAhead = Math.max(maxReadAhead, produced - count);
			last = batch[batch.length - 1];
			// Let the event loop run while the consumer "holds" the batch.
			await new Promise((resolve) => setImmediate(resolve));
		}
		expect(count).toBe(rows);
		expect(maxBatch).toBe(2_000);
		expect(maxReadAhead).toBeLessThan(5_000);
		expect(last).toEqual({ Id: '199999', Name: 'Zoë, "199999"', Seats__c: 49, Active__c: false });
	});

	it('destroys the body when the consumer stops early', async () => {
		function* endless(): Generator<string> {
			yield '"Id"\n';
			for (let index = 0; ; index++) yield `"${index}"\n`;
		}
		const body = Readable.from(endless(), { objectMode: false });
		for await (const batch of parseCsvPages(body, { fieldTypes: types, batchSize: 10 })) {
			expect(batch).toHaveLength(10);
			break;
		}
		expect(body.destroyed).toBe(true);
	});
});
