import type { CampaignItem } from '../campaign-item';
import { InvalidInputError } from '../errors';
import type { ScheduleStepRequest } from '../store/campaign-store';

/**
 * One user's row of the schedule: the item as it leaves a step, due at their own time, under
 * the resume point a Campaign Resume Trigger watches. The schedule keeps steps per campaign
 * entry (a re-run schedules nothing twice), so the item must carry its campaign and entry.
 */
export function scheduleRequestFor(
	item: Pick<CampaignItem, 'userId' | 'campaignId' | 'entryId'>,
	resumePoint: string,
	dueAt: number,
	payload: Record<string, unknown>,
): ScheduleStepRequest {
	if (!item.campaignId)
		throw new InvalidInputError(
			'campaignId',
			'is missing on the item; the schedule keeps users per campaign: connect this node after a campaign trigger.',
		);
	if (!item.entryId)
		throw new InvalidInputError(
			'entryId',
			"is missing on the item; the schedule keeps each user's step per campaign entry: connect this node after a campaign trigger, or choose How to Wait: Inside This Execution.",
		);
	return {
		campaignId: item.campaignId,
		stepId: resumePoint,
		entryId: item.entryId,
		userId: item.userId,
		dueAt,
		payload,
	};
}
