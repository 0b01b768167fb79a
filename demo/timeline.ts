import { readUserTimeline, renderTimeline, type CampaignStore, type ConversionRule } from '../src';

const DAY = 24 * 60 * 60_000;
const purchase: ConversionRule = {
	eventNames: ['Order Completed'],
	matchProperty: 'cart_id',
	windowMs: 7 * DAY,
	windowFrom: 'send',
};

/** One user of each outcome, as the Campaign Store's Get Timeline gives it; then an erasure. */
export async function runTimelines(store: CampaignStore, now: number): Promise<void> {
	console.log("\n6. A person's timeline (Campaign Store › Get Timeline), one user of each outcome");
	for (const [userId, outcome] of [
		['ana', 'deferred, then sent'],
		['hana', 'capped'],
		['gus', 'exited'],
	]) {
		const timeline = await readUserTimeline(store, {
			userId,
			campaignId: 'abandoned-cart',
			conversion: purchase,
			now,
		});
		console.log(`   ${userId} (${outcome}):`);
		console.log(renderTimeline(timeline).replace(/^/gm, '     '));
	}
	console.log(
		'   (not stored, so not shown: resume times of a Delay that waits inside the execution; schedule rows finished over a week ago)',
	);

	console.log('\n7. Erase a person (Campaign Store › Erase User): gus');
	const before = await store.countCampaignReport({ campaignId: 'abandoned-cart', now });
	const erased = await store.eraseUser('gus', now);
	const nonZero = (counts: Record<string, number>) =>
		Object.entries(counts)
			.filter(([, n]) => n > 0)
			.map(([table, n]) => `${table} ${n}`)
			.join(', ');
	console.log(`   deleted: ${nonZero(erased.deleted)}`);
	console.log(`   kept under a random id, nothing personal: ${nonZero(erased.anonymized)}`);
	const after = await store.countCampaignReport({ campaignId: 'abandoned-cart', now });
	console.log(
		`   the report's counts ${JSON.stringify(before) === JSON.stringify(after) ? 'are unchanged' : 'CHANGED'}`,
	);
	const again = await store.eraseUser('gus', now);
	console.log(
		`   again → ${again.found ? 'erased more?' : 'nothing stored for gus: nothing removed'}`,
	);
}
