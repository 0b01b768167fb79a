import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local imitation of the Intercom REST endpoints the channel uses, answering as Intercom's
 * OpenAPI description (2.14) documents: `POST /messages`, `POST /contacts/search`,
 * `GET /contacts/{id}`, `GET /admins`. Tests script failures per route and read every request it received.
 * Listens on 127.0.0.1 on a random port; nothing leaves the machine.
 */

export type ImitationRoute =
	| 'POST /messages'
	| 'POST /contacts/search'
	| 'GET /contacts/{id}'
	| 'GET /admins';

export interface RecordedRequest {
	method: string;
	/** Without the query string. */
	path: string;
	/** Lower-case names, as Node reads them. */
	headers: Record<string, string>;
	/** Parsed JSON, or the raw text when it is not JSON, or undefined when empty. */
	body: unknown;
}

export interface ScriptedAnswer {
	status: number;
	headers?: Record<string, string>;
	/** Default: Intercom's `error.list` for the status. */
	body?: unknown;
	/** Closes the connection without answering: a network error for the client. */
	drop?: boolean;
}

export interface ImitationContact {
	type: 'contact';
	id: string;
	workspace_id: string;
	external_id: string | null;
	role: 'user' | 'lead';
	/** Absent when unknown: the description types it as a non-nullable string. */
	email?: string;
	name: string | null;
	unsubscribed_from_emails: boolean;
	created_at: number;
	updated_at: number;
}

export interface ImitationAdmin {
	type: 'admin';
	id: string;
	name: string;
	email: string;
	job_title: string;
	away_mode_enabled: boolean;
	away_mode_reassign: boolean;
	has_inbox_seat: boolean;
	team_ids: number[];
}

export interface IntercomImitation {
	baseUrl: string;
	/** The only token it accepts; any other gets Intercom's 401. */
	accessToken: string;
	requests: RecordedRequest[];
	contacts: ImitationContact[];
	admins: ImitationAdmin[];
	addContact(contact: {
		id?: string;
		external_id?: string;
		email?: string;
		role?: 'user' | 'lead';
		name?: string;
		unsubscribed_from_emails?: boolean;
	}): ImitationContact;
	/** Answers the next requests to `route` with these, in order, before answering normally. */
	script(route: ImitationRoute, ...answers: Array<ScriptedAnswer | number>): void;
	requestsTo(route: ImitationRoute): RecordedRequest[];
	/**
	 * Holds every request to `route` (recorded on arrival, answered only after the returned
	 * function is called); a request whose caller hung up meanwhile is never answered.
	 */
	hold(route: ImitationRoute): () => void;
	/** How many requests are held now. */
	readonly heldCount: number;
	close(): Promise<void>;
}

const NOW = 1_734_537_780;

/** Intercom's error bodies, with the codes and texts its description shows. */
export function intercomErrorBody(status: number, message?: string): unknown {
	const [code, text] =
		status === 401
			? ['unauthorized', 'Access Token Invalid']
			: status === 403
				? ['api_plan_restricted', 'Active subscription needed.']
				: status === 404
					? ['not_found', 'User Not Found']
					: status === 422
						? ['parameter_invalid', 'Invalid recipient']
						: status === 400
							? ['parameter_invalid', 'Body is required']
							: status === 429
								? ['rate_limit_exceeded', 'Exceeded rate limit of 10000 in 10_seconds']
								: ['server_error', 'Server Error'];
	return {
		type: 'error.list',
		request_id: randomUUID(),
		errors: [{ code, message: message ?? text }],
	};
}

function readBody(request: IncomingMessage): Promise<string> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		request.on('data', (chunk: Buffer) => chunks.push(chunk));
		request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
		request.on('error', reject);
	});
}

function answer(
	response: ServerResponse,
	status: number,
	body: unknown,
	headers: Record<string, string> = {},
): void {
	response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
	response.end(JSON.stringify(body));
}

export async function startIntercomImitation(
	options: { accessToken?: string } = {},
): Promise<IntercomImitation> {
	const accessToken = options.accessToken ?? 'imitation-token';
	const requests: RecordedRequest[] = [];
	const contacts: ImitationContact[] = [];
	const admins: ImitationAdmin[] = [
		{
			type: 'admin',
			id: '991267816',
			name: 'Ciaran Lee',
			email: 'admin@example.com',
			job_title: 'Support',
			away_mode_enabled: false,
			away_mode_reassign: false,
			has_inbox_seat: true,
			team_ids: [],
		},
		{
			type: 'admin',
			id: '991267999',
			name: 'Mina Park',
			email: 'growth@example.com',
			job_title: 'Growth',
			away_mode_enabled: false,
			away_mode_reassign: false,
			has_inbox_seat: true,
			team_ids: [],
		},
	];
	const scripts = new Map<ImitationRoute, ScriptedAnswer[]>();
	const holds = new Map<ImitationRoute, Promise<void>>();
	let heldCount = 0;
	let messageSeq = 403_918_396;
	let contactSeq = 0;

	function searchContacts(body: unknown): { status: number; body: unknown } {
		const query = (body as { query?: Record<string, unknown> } | null)?.query;
		const field = query?.field;
		if (
			typeof field !== 'string' ||
			query?.operator !== '=' ||
			!['id', 'external_id', 'email', 'role'].includes(field)
		) {
			return { status: 400, body: intercomErrorBody(400, 'The imitation supports one = filter') };
		}
		const wanted = query.value;
		const data = contacts.filter((c) =>
			field === 'email'
				? typeof wanted === 'string' && c.email?.toLowerCase() === wanted.toLowerCase()
				: c[field as 'id' | 'external_id' | 'role'] === wanted,
		);
		return {
			status: 200,
			body: {
				type: 'list',
				data,
				total_count: data.length,
				pages: { type: 'pages', page: 1, per_page: 50, total_pages: data.length > 0 ? 1 : 0 },
			},
		};
	}

	function showContact(id: string): { status: number; body: unknown } {
		const contact = contacts.find((c) => c.id === id);
		return contact
			? { status: 200, body: contact }
			: { status: 404, body: intercomErrorBody(404, 'Contact Not Found') };
	}

	function createMessage(body: unknown): { status: number; body: unknown } {
		const b = (body ?? {}) as Record<string, unknown>;
		if (typeof b.body !== 'string' || b.body === '') {
			return { status: 400, body: intercomErrorBody(400, 'Body is required') };
		}
		if (b.message_type === 'email' && (typeof b.subject !== 'string' || b.subject === '')) {
			return {
				status: 422,
				body: {
					type: 'error.list',
					request_id: randomUUID(),
					errors: [
						{ code: 'parameter_not_found', message: 'No subject supplied for email message' },
					],
				},
			};
		}
		const to = b.to as { type?: unknown; id?: unknown } | undefined;
		if (!contacts.some((c) => c.id === to?.id)) {
			return { status: 404, body: intercomErrorBody(404) };
		}
		const from = b.from as { id?: unknown } | undefined;
		const admin = admins.find((a) => a.id === String(from?.id));
		if (!admin) {
			// As Intercom's description documents it for an admin id it does not know.
			return {
				status: 404,
				body: {
					type: 'error.list',
					request_id: randomUUID(),
					errors: [{ code: 'admin_not_found', message: 'Admin for admin_id not found' }],
				},
			};
		}
		messageSeq += 1;
		return {
			status: 200,
			body: {
				type: 'admin_message',
				id: String(messageSeq),
				created_at: NOW,
				...(b.message_type === 'email' ? { subject: b.subject } : {}),
				body: b.body,
				message_type: b.message_type,
				owner: {
					type: 'admin',
					id: admin.id,
					name: admin.name,
					email: admin.email,
					away_mode_enabled: false,
					away_mode_reassign: false,
				},
			},
		};
	}

	const server = createServer((request, response) => {
		void (async () => {
			const text = await readBody(request);
			let body: unknown = text === '' ? undefined : text;
			try {
				if (text !== '') body = JSON.parse(text);
			} catch {
				// Kept as text: the request is recorded as sent.
			}
			const path = (request.url ?? '/').split('?')[0];
			const headers: Record<string, string> = {};
			for (const [name, value] of Object.entries(request.headers)) {
				if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
			}
			requests.push({ method: request.method ?? 'GET', path, headers, body });

			const contactPath = /^\/contacts\/([^/]+)$/.exec(path);
			const route = (
				request.method === 'GET' && contactPath ? 'GET /contacts/{id}' : `${request.method} ${path}`
			) as ImitationRoute;
			const hold = holds.get(route);
			if (hold) {
				heldCount += 1;
				await hold;
				heldCount -= 1;
				if (request.socket.destroyed) return;
			}
			const scripted = scripts.get(route)?.shift();
			if (scripted) {
				if (scripted.drop) {
					request.socket.destroy();
					return;
				}
				answer(
					response,
					scripted.status,
					scripted.body ?? intercomErrorBody(scripted.status),
					scripted.headers,
				);
				return;
			}
			if (headers.authorization !== `Bearer ${accessToken}`) {
				answer(response, 401, intercomErrorBody(401));
				return;
			}
			const result =
				route === 'POST /messages'
					? createMessage(body)
					: route === 'POST /contacts/search'
						? searchContacts(body)
						: route === 'GET /contacts/{id}'
							? showContact(decodeURIComponent(contactPath![1]))
							: route === 'GET /admins'
								? { status: 200, body: { type: 'admin.list', admins } }
								: { status: 404, body: intercomErrorBody(404, 'Resource Not Found') };
			answer(response, result.status, result.body);
		})().catch((error: unknown) => {
			answer(response, 500, intercomErrorBody(500, String(error)));
		});
	});

	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;

	return {
		baseUrl: `http://127.0.0.1:${port}`,
		accessToken,
		requests,
		contacts,
		admins,
		addContact(contact) {
			contactSeq += 1;
			const created: ImitationContact = {
				type: 'contact',
				id: contact.id ?? `6762f23${String(contactSeq).padStart(3, '0')}1bb69f9f2193bc1a`,
				workspace_id: 'ecahpwf5',
				external_id: contact.external_id ?? null,
				role: contact.role ?? 'user',
				...(contact.email === undefined ? {} : { email: contact.email }),
				name: contact.name ?? null,
				unsubscribed_from_emails: contact.unsubscribed_from_emails ?? false,
				created_at: NOW,
				updated_at: NOW,
			};
			contacts.push(created);
			return created;
		},
		script(route, ...answers) {
			const queue = scripts.get(route) ?? [];
			for (const a of answers) queue.push(typeof a === 'number' ? { status: a } : a);
			scripts.set(route, queue);
		},
		requestsTo(route) {
			return requests.filter(
				(r) =>
					`${r.method} ${r.path}` === route ||
					(route === 'GET /contacts/{id}' &&
						r.method === 'GET' &&
						/^\/contacts\/[^/]+$/.test(r.path)),
			);
		},
		hold(route) {
			let release = () => {};
			holds.set(
				route,
				new Promise<void>((resolve) => {
					release = resolve;
				}),
			);
			return () => {
				holds.delete(route);
				release();
			};
		},
		get heldCount() {
			return heldCount;
		},
		close() {
			server.closeAllConnections();
			return new Promise<void>((resolve, reject) =>
				server.close((error) => (error ? reject(error) : resolve())),
			);
		},
	};
}
