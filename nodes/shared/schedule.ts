import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
} from 'n8n-workflow';

import { scheduleField, type CampaignStore, type ScheduleStepRequest } from '../../src';

/** The Resume Point parameter of a node that hands users to the schedule; it must be named. */
export function readResumePoint(context: IExecuteFunctions): string {
	const resumePoint = String(context.getNodeParameter('resumePoint', 0, '')).trim();
	if (!resumePoint) {
		throw new NodeOperationError(
			context.getNode(),
			'Resume Point is empty: name it, and give the Campaign Resume Trigger that continues these users the same name.',
		);
	}
	return resumePoint;
}

/** A user to schedule, and where its item goes (an output of the node, say). */
export interface UserToSchedule<Route> {
	itemIndex: number;
	request: ScheduleStepRequest;
	route: Route;
}

/**
 * Writes the users to the schedule in one transaction and gives each its item: `json` of the
 * request with the `schedule` field (resume point, due time, scheduled now or already).
 */
export async function scheduleUsers<Route>(
	store: CampaignStore,
	users: Array<UserToSchedule<Route>>,
	now: number,
	json: (request: ScheduleStepRequest) => IDataObject,
): Promise<Array<{ route: Route; item: INodeExecutionData }>> {
	if (users.length === 0) return [];
	const { scheduled } = await store.scheduleSteps(
		users.map(({ request }) => request),
		now,
	);
	return users.map(({ itemIndex, request, route }, index) => ({
		route,
		item: {
			json: {
				...json(request),
				schedule: scheduleField(request.stepId, request.dueAt, scheduled[index]),
			},
			pairedItem: { item: itemIndex },
		},
	}));
}
