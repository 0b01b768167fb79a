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
	firstOfEachKey,
	inDueOrder,
	stepKey,
	type PreparedStep,
	type ScheduledStepRow,
} from '../scheduled-steps';
import type { PgQueryable } from './pg-types';

/**
 * The schedule statements of the PostgreSQL store, for one schema. Each call is ONE
 * statement (so one round trip, and a transaction of its own); pruning of finished rows
 * rides along as a data-modifying CTE.
 */
export function postgresScheduleStatements(schema: string) {
	const s = `"${schema}"`;
	/**
	 * A bounded chunk of rows finished before `$cutoff`; rows another call is pruning are
	 * skipped, so concurrent calls never wait on each other here.
	 */
	const pruned = (cutoff: string, chunk: string) => `pruned AS (
			DELETE FROM ${s}.scheduled_steps WHERE id IN (
				SELECT id FROM ${s}.scheduled_steps
				WHERE state IN ('done', 'cancelled') AND updated_at < ${cutoff}
				LIMIT ${chunk} FOR UPDATE SKIP LOCKED
			)
		)`;
	return {
		/**
		 * Ids follow the batch order (insertion order breaks ties of due time), but rows are
		 * inserted in key order: two transactions inserting overlapping batches then wait on
		 * each other in one order and cannot deadlock. Returns the keys inserted now.
		 */
		schedule: `WITH ${pruned('$8::bigint', '$9::int')}
			INSERT INTO ${s}.scheduled_steps
				(id, campaign_id, step_id, entry_id, user_id, due_at, payload, state, attempts, created_at, updated_at)
			SELECT id, campaign_id, step_id, entry_id, user_id, due_at, payload, 'scheduled', 0, $7, $7
			FROM (
				SELECT nextval('${s}.scheduled_steps_id_seq') AS id, r.*
				FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::jsonb[])
					WITH ORDINALITY AS r(campaign_id, step_id, entry_id, user_id, due_at, payload, ord)
				ORDER BY r.ord
			) AS numbered
			ORDER BY entry_id COLLATE "C", step_id COLLATE "C", due_at
			ON CONFLICT (entry_id, step_id, due_at) DO NOTHING
			RETURNING entry_id, step_id, due_at`,

		/**
		 * Due scheduled rows and rows whose lease ran out ($3 is now), each side at most $4
		 * from its own partial index and locked with SKIP LOCKED (so concurrent claimers take
		 * different rows and never wait), merged in due order. Under READ COMMITTED a row
		 * another claimer committed meanwhile is re-checked once locked and dropped. The update
		 * finds the picked rows by primary key (an id array), never by a join that could hash
		 * the whole table.
		 */
		claim: `WITH due AS (
				SELECT id, due_at FROM ${s}.scheduled_steps
				WHERE campaign_id = $1 AND step_id = $2 AND state = 'scheduled' AND due_at <= $3
				ORDER BY due_at, id LIMIT $4
				FOR UPDATE SKIP LOCKED
			),
			expired AS (
				SELECT id, due_at FROM ${s}.scheduled_steps
				WHERE campaign_id = $1 AND step_id = $2 AND state = 'claimed' AND lease_until <= $3 AND due_at <= $3
				ORDER BY due_at, id LIMIT $4
				FOR UPDATE SKIP LOCKED
			),
			picked AS (
				SELECT id FROM (SELECT id, due_at FROM due UNION ALL SELECT id, due_at FROM expired) AS c
				ORDER BY due_at, id LIMIT $4
			),
			${pruned('$7::bigint', '$8::int')}
			UPDATE ${s}.scheduled_steps AS t
			SET state = 'claimed', lease_until = $5, claim_token = $6, attempts = t.attempts + 1, updated_at = $3
			WHERE t.id = ANY (ARRAY(SELECT id FROM picked))
			RETURNING t.id, t.campaign_id, t.step_id, t.entry_id, t.user_id, t.due_at, t.payload, t.attempts,
				t.claim_token, t.lease_until, t.created_at`,

		complete: `UPDATE ${s}.scheduled_steps AS t SET state = 'done', updated_at = $3
			FROM unnest($1::bigint[], $2::text[]) AS c(id, claim_token)
			WHERE t.id = c.id AND t.claim_token = c.claim_token AND t.state = 'claimed'`,

		release: `UPDATE ${s}.scheduled_steps AS t
			SET state = 'scheduled', claim_token = NULL, lease_until = NULL, updated_at = $3
			FROM unnest($1::bigint[], $2::text[]) AS c(id, claim_token)
			WHERE t.id = c.id AND t.claim_token = c.claim_token AND t.state = 'claimed'`,

		renew: `UPDATE ${s}.scheduled_steps AS t SET lease_until = $4, updated_at = $3
			FROM unnest($1::bigint[], $2::text[]) AS c(id, claim_token)
			WHERE t.id = c.id AND t.claim_token = c.claim_token AND t.state = 'claimed'`,

		cancel: `UPDATE ${s}.scheduled_steps SET state = 'cancelled', updated_at = $4
			WHERE user_id = $1 AND state IN ('scheduled', 'claimed')
				AND ($2::text IS NULL OR campaign_id = $2) AND ($3::text IS NULL OR entry_id = $3)`,

		/** Each minimum is the first entry of a partial index. */
		nextDueAt: `SELECT least(
				(SELECT min(due_at) FROM ${s}.scheduled_steps WHERE campaign_id = $1 AND step_id = $2 AND state = 'scheduled'),
				(SELECT min(lease_until) FROM ${s}.scheduled_steps WHERE campaign_id = $1 AND step_id = $2 AND state = 'claimed')
			) AS at`,
	};
}

export type PostgresScheduleStatements = ReturnType<typeof postgresScheduleStatements>;

/** `scheduleSteps` in one statement; true per request inserted now. */
export async function schedulePostgresSteps(
	db: PgQueryable,
	sql: PostgresScheduleStatements,
	steps: PreparedStep[],
	now: number,
): Promise<boolean[]> {
	// Within a batch the first request of a key is the one that can be scheduled.
	const first = firstOfEachKey(steps);
	const distinct = first.map((index) => steps[index]);
	const { rows } = await db.query<{ entry_id: string; step_id: string; due_at: string }>(
		sql.schedule,
		[
			distinct.map((step) => step.campaignId),
			distinct.map((step) => step.stepId),
			distinct.map((step) => step.entryId),
			distinct.map((step) => step.userId),
			distinct.map((step) => step.dueAt),
			distinct.map((step) => step.payload),
			now,
			now - FINISHED_STEPS_TTL_MS,
			PRUNE_CHUNK,
		],
	);
	const inserted = new Set(
		rows.map((row) => stepKey(row.entry_id, row.step_id, Number(row.due_at))),
	);
	const scheduled = new Array<boolean>(steps.length).fill(false);
	for (const index of first) {
		const step = steps[index];
		scheduled[index] = inserted.has(stepKey(step.entryId, step.stepId, step.dueAt));
	}
	return scheduled;
}

export async function claimPostgresSteps(
	db: PgQueryable,
	sql: PostgresScheduleStatements,
	request: ClaimStepsRequest,
	token: string,
): Promise<ClaimedStep[]> {
	const { rows } = await db.query<ScheduledStepRow>(sql.claim, [
		request.campaignId,
		request.stepId,
		request.now,
		request.limit,
		request.now + request.leaseMs,
		token,
		request.now - FINISHED_STEPS_TTL_MS,
		PRUNE_CHUNK,
	]);
	return inDueOrder(rows.map(claimedStepFromRow));
}

/** Completes (`done`) or gives back (`release`) claims in one statement; how many changed. */
export async function finishPostgresClaims(
	db: PgQueryable,
	sql: PostgresScheduleStatements,
	action: 'complete' | 'release',
	claims: StepClaim[],
	now: number,
): Promise<number> {
	const result = await db.query(sql[action], [
		claims.map((claim) => claim.id),
		claims.map((claim) => claim.claimToken),
		now,
	]);
	return result.rowCount ?? 0;
}

/** Extends the leases of claims still held, in one statement; how many were extended. */
export async function renewPostgresClaims(
	db: PgQueryable,
	sql: PostgresScheduleStatements,
	claims: StepClaim[],
	leaseUntil: number,
	now: number,
): Promise<number> {
	const result = await db.query(sql.renew, [
		claims.map((claim) => claim.id),
		claims.map((claim) => claim.claimToken),
		now,
		leaseUntil,
	]);
	return result.rowCount ?? 0;
}

export async function cancelPostgresSteps(
	db: PgQueryable,
	sql: PostgresScheduleStatements,
	request: CancelStepsRequest,
	now: number,
): Promise<number> {
	const result = await db.query(sql.cancel, [
		request.userId,
		request.campaignId ?? null,
		request.entryId ?? null,
		now,
	]);
	return result.rowCount ?? 0;
}

export async function nextPostgresDueAt(
	db: PgQueryable,
	sql: PostgresScheduleStatements,
	query: { campaignId: string; stepId: string },
): Promise<number | undefined> {
	const { rows } = await db.query<{ at: string | null }>(sql.nextDueAt, [
		query.campaignId,
		query.stepId,
	]);
	return rows[0].at === null ? undefined : Number(rows[0].at);
}
