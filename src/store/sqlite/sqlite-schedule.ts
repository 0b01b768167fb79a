import type { StatementSync } from 'node:sqlite';

import type {
	CancelStepsRequest,
	ClaimStepsRequest,
	ClaimedStep,
	StepClaim,
} from '../campaign-store';
import {
	FINISHED_STEPS_TTL_MS,
	PRUNE_CHUNK,
	claimedStepFromRow,
	inDueOrder,
	type PreparedStep,
	type ScheduledStepRow,
} from '../scheduled-steps';

/** The store's cache of prepared statements. */
type Statements = (sql: string) => StatementSync;

/** Rows of one resume point a claim may take, in due order, each from its partial index. */
const claimable = (state: 'scheduled' | 'claimed') =>
	`SELECT id, due_at FROM (
		SELECT id, due_at FROM scheduled_steps
		WHERE campaign_id = $campaign AND step_id = $step AND state = '${state}'
			${state === 'scheduled' ? 'AND due_at <= $now' : 'AND lease_until <= $now AND due_at <= $now'}
		ORDER BY due_at, id LIMIT $limit
	)`;

const SQL = {
	schedule: `INSERT INTO scheduled_steps
			(campaign_id, step_id, entry_id, user_id, due_at, payload, state, attempts, created_at, updated_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'scheduled', 0, ?7, ?7)
		ON CONFLICT (entry_id, step_id, due_at) DO NOTHING`,
	/**
	 * Due scheduled rows and rows whose lease ran out, each side at most `limit` from its own
	 * index, merged in due order: the work follows the due rows, not the table.
	 */
	claim: `UPDATE scheduled_steps
		SET state = 'claimed', lease_until = $leaseUntil, claim_token = $token,
			attempts = attempts + 1, updated_at = $now
		WHERE id IN (
			SELECT id FROM (${claimable('scheduled')} UNION ALL ${claimable('claimed')})
			ORDER BY due_at, id LIMIT $limit
		)
		RETURNING id, campaign_id, step_id, entry_id, user_id, due_at, payload, attempts, claim_token,
			lease_until, created_at`,
	complete: `UPDATE scheduled_steps SET state = 'done', updated_at = ?
		WHERE id = ? AND claim_token = ? AND state = 'claimed'`,
	release: `UPDATE scheduled_steps SET state = 'scheduled', claim_token = NULL, lease_until = NULL, updated_at = ?
		WHERE id = ? AND claim_token = ? AND state = 'claimed'`,
	renew: `UPDATE scheduled_steps SET lease_until = ?, updated_at = ?
		WHERE id = ? AND claim_token = ? AND state = 'claimed'`,
	cancel: `UPDATE scheduled_steps SET state = 'cancelled', updated_at = $now
		WHERE user_id = $user AND state IN ('scheduled', 'claimed')
			AND ($campaign IS NULL OR campaign_id = $campaign) AND ($entry IS NULL OR entry_id = $entry)`,
	nextDue: `SELECT due_at AS at FROM scheduled_steps
		WHERE campaign_id = ? AND step_id = ? AND state = 'scheduled' ORDER BY due_at LIMIT 1`,
	nextLeaseEnd: `SELECT lease_until AS at FROM scheduled_steps
		WHERE campaign_id = ? AND step_id = ? AND state = 'claimed' ORDER BY lease_until LIMIT 1`,
	/** A bounded chunk of finished rows, through their partial index. */
	prune: `DELETE FROM scheduled_steps WHERE id IN (
		SELECT id FROM scheduled_steps WHERE state IN ('done', 'cancelled') AND updated_at < ? LIMIT ?)`,
};

/** Deletes at most a chunk of rows finished more than a week ago; the caller's transaction. */
function pruneFinished(statement: Statements, now: number): void {
	statement(SQL.prune).run(now - FINISHED_STEPS_TTL_MS, PRUNE_CHUNK);
}

/** `scheduleSteps` inside the caller's `BEGIN IMMEDIATE`; true per row inserted now. */
export function scheduleSqliteSteps(
	statement: Statements,
	steps: PreparedStep[],
	now: number,
): boolean[] {
	const insert = statement(SQL.schedule);
	const scheduled = steps.map(
		(step) =>
			// Positional: no parameter object per row.
			insert.run(
				step.campaignId,
				step.stepId,
				step.entryId,
				step.userId,
				step.dueAt,
				step.payload,
				now,
			).changes === 1,
	);
	pruneFinished(statement, now);
	return scheduled;
}

/** `claimDueSteps` inside the caller's `BEGIN IMMEDIATE`, which serialises claimers. */
export function claimSqliteSteps(
	statement: Statements,
	request: ClaimStepsRequest,
	token: string,
): ClaimedStep[] {
	const rows = statement(SQL.claim).all({
		campaign: request.campaignId,
		step: request.stepId,
		now: request.now,
		limit: request.limit,
		leaseUntil: request.now + request.leaseMs,
		token,
	}) as unknown as ScheduledStepRow[];
	pruneFinished(statement, request.now);
	return inDueOrder(rows.map(claimedStepFromRow));
}

/** Completes (`done`) or gives back (`release`) claims; the caller's transaction. */
export function finishSqliteClaims(
	statement: Statements,
	action: 'complete' | 'release',
	claims: StepClaim[],
	now: number,
): number {
	const update = statement(SQL[action]);
	let changed = 0;
	for (const claim of claims)
		changed += Number(update.run(now, claim.id, claim.claimToken).changes);
	return changed;
}

/** Extends the leases of claims still held; the caller's transaction. */
export function renewSqliteClaims(
	statement: Statements,
	claims: StepClaim[],
	leaseUntil: number,
	now: number,
): number {
	const update = statement(SQL.renew);
	let changed = 0;
	for (const claim of claims)
		changed += Number(update.run(leaseUntil, now, claim.id, claim.claimToken).changes);
	return changed;
}

export function cancelSqliteSteps(
	statement: Statements,
	request: CancelStepsRequest,
	now: number,
): number {
	return Number(
		statement(SQL.cancel).run({
			now,
			user: request.userId,
			campaign: request.campaignId ?? null,
			entry: request.entryId ?? null,
		}).changes,
	);
}

export function nextSqliteDueAt(
	statement: Statements,
	query: { campaignId: string; stepId: string },
): number | undefined {
	const times = [SQL.nextDue, SQL.nextLeaseEnd]
		.map((sql) => statement(sql).get(query.campaignId, query.stepId) as { at: number } | undefined)
		.filter((row) => row !== undefined)
		.map((row) => Number(row.at));
	return times.length ? Math.min(...times) : undefined;
}
