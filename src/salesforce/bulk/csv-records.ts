/**
 * One Bulk API 2.0 results page (CSV, header row first) parsed as a stream into batches of
 * typed records. csv-parse handles quoting (commas, doubled quotes, newlines in fields),
 * multi-byte characters split across chunks, a BOM and CRLF. Every page repeats the header,
 * so each page gets a parser of its own. The generator yields a batch and waits: while the
 * consumer holds it nothing more is read (the parser's buffers fill and the body pauses), so
 * memory holds one batch and a few buffers, never the page.
 */
import type { Readable } from 'node:stream';

import { parse } from 'csv-parse';

import type { SalesforceRecord } from '../api/types';
import { coerceCsvValue, fieldKind, type FieldKind, type FieldTypes } from '../records';

export const DEFAULT_CSV_BATCH_SIZE = 2_000;

export interface CsvPageOptions {
	fieldTypes: FieldTypes;
	/** Records per yielded batch (default 2,000). */
	batchSize?: number;
}

export async function* parseCsvPages(
	body: Readable,
	options: CsvPageOptions,
): AsyncGenerator<SalesforceRecord[]> {
	const batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_CSV_BATCH_SIZE));
	// No skip_empty_lines: a one-column row whose value is null is an empty line. Rows come as
	// arrays and each becomes one record with the header's keys and kinds worked out once per
	// page: a million-row read allocates a third of what header-keyed row objects cost.
	const parser = parse({ bom: true });
	const forwardError = (error: Error) => parser.destroy(error);
	body.once('error', forwardError);
	body.pipe(parser);
	let batch: SalesforceRecord[] = [];
	let header: string[] | undefined;
	let kinds: Array<FieldKind | undefined> = [];
	let failure: Error | undefined;
	parser.on('error', (error: Error) => (failure = error));
	try {
		// Rows are taken with read() as they are buffered, not one awaited promise per row
		// (for await over the parser allocated more than the rows themselves).
		for (;;) {
			let row: string[] | null;
			while ((row = parser.read() as string[] | null) !== null) {
				if (header === undefined) {
					header = row;
					kinds = header.map((key) => fieldKind(options.fieldTypes, key));
					continue;
				}
				const record: SalesforceRecord = {};
				for (let column = 0; column < header.length; column++) {
					record[header[column]] = coerceCsvValue(row[column] ?? '', kinds[column]);
				}
				batch.push(record);
				if (batch.length >= batchSize) {
					yield batch;
					batch = [];
				}
			}
			if (failure) throw failure;
			if (parser.readableEnded) break;
			await new Promise<void>((resolve) => {
				const wake = () => {
					parser.off('readable', wake);
					parser.off('end', wake);
					parser.off('error', wake);
					parser.off('close', wake);
					resolve();
				};
				parser.on('readable', wake);
				parser.on('end', wake);
				parser.on('error', wake);
				parser.on('close', wake);
			});
			if (failure) throw failure;
			if (parser.readableEnded) break;
			if (parser.destroyed) throw new Error('the Bulk API results stream closed before its end');
		}
		if (batch.length > 0) yield batch;
	} finally {
		// Normal end or early exit (consumer stopped, error): stop reading the HTTP body.
		body.off('error', forwardError);
		body.unpipe(parser);
		if (!body.destroyed) body.destroy();
		if (!parser.destroyed) parser.destroy();
	}
}
