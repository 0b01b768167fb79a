import type { Clock } from '../clock';
import { systemClock } from '../clock';
import { InvalidInputError } from '../errors';
import type { CampaignStore, ClaimedStep, StepClaim } from '../store/campaign-store';

/** What a resume loop asks of its host (an n8n trigger, the demo, a test). */
export interface ResumeLoopOptions {
	/** The campaign store; asked on every round, so a store that was unreachable is tried again. */
	store: () => Promise<CampaignStore>;
	campaignId: string;
	/** The resume point the schedule's rows name (the Campaign Delay's *Resume Point*). */
	resumePoint: string;
	/** Users per execution: one claim, one page in memory. */
	batchSize: number;
	/** Look at the schedule at least this often, ms; sooner when a row falls due sooner. */
	pollMs: number;
	/** How long a claim is this loop's; renewed while its execution runs. */
	leaseMs: number;
	/** Executions of this loop running at once; more due users wait for the next round. */
	maxInFlight: number;
	/**
	 * Runs one execution with the claimed users. Resolves when it finished (however it ended:
	 * the users were emitted); rejects when it could not be started or the host lost it before
	 * it ran (the claims are given back and the users are claimed again).
	 */
	run: (steps: ClaimedStep[]) => Promise<void>;
	clock?: Clock;
	log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
}

export interface ResumeLoop {
	/**
	 * Stops claiming. Executions already running keep their claims renewed until they finish
	 * (n8n lets running executions finish when a workflow is deactivated or n8n shuts down).
	 */
	stop(): Promise<void>;
	/** Users emitted so far (tests, logs). */
	readonly emitted: number;
}

export const MIN_RESUME_POLL_MS = 100;
export const MIN_RESUME_LEASE_MS = 5_000;

export function validateResumeLoopOptions(options: ResumeLoopOptions): void {
	if (!options.campaignId.trim())
		throw new InvalidInputError(
			'campaignId',
			'is empty: name the campaign whose users resume here.',
		);
	if (!options.resumePoint.trim())
		throw new InvalidInputError(
			'resumePoint',
			'is empty: use the Resume Point of the Campaign Delay (or Frequency Cap) that schedules these users.',
		);
	if (!Number.isInteger(options.batchSize) || options.batchSize < 1 || options.batchSize > 10_000)
		throw new InvalidInputError(
			'batchSize',
			`must be a whole number from 1 to 10,000, not ${options.batchSize}.`,
		);
	if (!(options.pollMs >= MIN_RESUME_POLL_MS))
		throw new InvalidInputError(
			'pollMs',
			`must be at least ${MIN_RESUME_POLL_MS} ms, not ${options.pollMs}.`,
		);
	if (!(options.leaseMs >= MIN_RESUME_LEASE_MS))
		throw new InvalidInputError(
			'leaseMs',
			`must be at least ${MIN_RESUME_LEASE_MS} ms, not ${options.leaseMs}.`,
		);
	if (!Number.isInteger(options.maxInFlight) || options.maxInFlight < 1)
		throw new InvalidInputError(
			'maxInFlight',
			`must be a whole number of at least 1, not ${options.maxInFlight}.`,
		);
}

/**
 * Releases users from the store's schedule as they fall due: claims the due rows of one resume
 * point (oldest first, a page per execution), runs an execution with them, and marks them done
 * when it finished. A claim is a lease renewed while its execution runs: if the process dies,
 * the lease runs out and another process (or this one after a restart) claims the rows again,
 * so nobody is lost; the steps after the resume point are idempotent per entry and step, so
 * nobody is sent anything twice. Between rounds the loop sleeps until the next row falls due,
 * at most `pollMs`.
 */
export function startResumeLoop(options: ResumeLoopOptions): ResumeLoop {
	validateResumeLoopOptions(options);
	const clock = options.clock ?? systemClock;
	const log = options.log ?? (() => undefined);
	const running = new Set<Promise<void>>();
	let stopped = false;
	let timer: NodeJS.Timeout | undefined;
	let round: Promise<void> | undefined;
	let again = false;
	let emitted = 0;

	const wake = (delayMs = 0) => {
		if (stopped) return;
		if (round) {
			again = true;
			return;
		}
		if (timer) clearTimeout(timer);
		timer = setTimeout(
			() => {
				timer = undefined;
				round = claimAndRun().finally(() => {
					round = undefined;
					if (again) {
						again = false;
						wake();
					}
				});
			},
			Math.max(0, delayMs),
		);
	};

	async function claimAndRun(): Promise<void> {
		let store: CampaignStore;
		let next = options.pollMs;
		try {
			store = await options.store();
			while (!stopped && running.size < options.maxInFlight) {
				const steps = await store.claimDueSteps({
					campaignId: options.campaignId,
					stepId: options.resumePoint,
					now: clock.now(),
					limit: options.batchSize,
					leaseMs: options.leaseMs,
				});
				if (steps.length === 0) break;
				launch(store, steps);
				if (steps.length < options.batchSize) break;
			}
			if (running.size < options.maxInFlight) {
				const dueAt = await store.nextScheduledDueAt({
					campaignId: options.campaignId,
					stepId: options.resumePoint,
				});
				if (dueAt !== undefined) next = Math.min(next, dueAt - clock.now());
			}
		} catch (error) {
			log(
				'warn',
				`could not read the schedule of ${describe()}; trying again in ${options.pollMs} ms: ${(error as Error).message}`,
			);
		}
		wake(next);
	}

	function launch(store: CampaignStore, steps: ClaimedStep[]): void {
		const claims: StepClaim[] = steps.map(({ id, claimToken }) => ({ id, claimToken }));
		// Renew well before the lease runs out, so a slow execution keeps its users.
		const renewal = setInterval(
			() => {
				store
					.renewStepLeases(claims, clock.now() + options.leaseMs, clock.now())
					.catch((error: unknown) =>
						log(
							'warn',
							`could not renew the claims of ${steps.length} user(s) of ${describe()}: ${(error as Error).message}`,
						),
					);
			},
			Math.max(1000, Math.floor(options.leaseMs / 3)),
		);
		emitted += steps.length;
		log(
			'debug',
			`${describe()}: ${steps.length} user(s) due, the first at ${new Date(steps[0].dueAt).toISOString()}`,
		);
		const execution = options
			.run(steps)
			.then(
				async () => {
					await store.completeSteps(claims, clock.now());
				},
				async (error: unknown) => {
					log(
						'error',
						`${describe()}: the execution of ${steps.length} user(s) did not run; they stay scheduled: ${(error as Error).message}`,
					);
					await store.releaseSteps(claims, clock.now());
				},
			)
			.catch((error: unknown) =>
				// The claims run out and the users are claimed again: late, never lost.
				log(
					'warn',
					`${describe()}: could not record the outcome of ${steps.length} user(s): ${(error as Error).message}`,
				),
			)
			.finally(() => {
				clearInterval(renewal);
				running.delete(execution);
				wake();
			});
		running.add(execution);
	}

	const describe = () => `campaign "${options.campaignId}", resume point "${options.resumePoint}"`;

	wake();
	return {
		async stop() {
			stopped = true;
			if (timer) clearTimeout(timer);
			await round;
		},
		get emitted() {
			return emitted;
		},
	};
}

/** The item a resumed user carries on: what was scheduled, and when and how late it resumed. */
export function resumedItemJson(step: ClaimedStep, now: number): Record<string, unknown> {
	return {
		...step.payload,
		resume: {
			point: step.stepId,
			dueAt: new Date(step.dueAt).toISOString(),
			resumedAt: new Date(now).toISOString(),
			lateByMs: Math.max(0, now - step.dueAt),
			attempt: step.attempts,
			scheduleId: step.id,
		},
	};
}
