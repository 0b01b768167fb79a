/**
 * Jest setup: every test talks to local servers (the fake Salesforce, Intercom imitation,
 * n8n). jsforce reads proxy variables once, when it is loaded, so clear them before any test
 * module is.
 */
for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'])
	delete process.env[name];
