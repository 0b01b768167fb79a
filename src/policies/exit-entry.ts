import type { CampaignStore } from '../store/campaign-store';

/**
 * A user leaves a campaign entry: the entry is marked exited with the reason, and whatever
 * the schedule still holds for that entry (a later step, a deferred retry) is cancelled, so
 * no resume trigger brings the user back into a journey they left.
 */
export async function exitCampaignEntry(
	store: CampaignStore,
	entry: { entryId: string; userId: string; campaignId?: string },
	reason: string,
	now: number,
): Promise<void> {
	await store.exitEntry(entry.entryId, reason, now);
	await store.cancelScheduledSteps(
		{ userId: entry.userId, campaignId: entry.campaignId || undefined, entryId: entry.entryId },
		now,
	);
}
