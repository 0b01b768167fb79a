/**
 * SOAP partner `login()` (legacy; Salesforce is retiring it): one XML POST through the
 * injected transport, like the OAuth grants, so n8n's proxy settings apply to it too.
 */
import { fetchTransport, streamText, type SalesforceTransport } from '../api/transport';
import type { SalesforceToken } from '../api/types';
import { loginFailure } from './login-errors';

const escapeXml = (text: string) =>
	text
		.replace(/&/g, '&amp;')
		.replace(/</g, '&lt;')
		.replace(/>/g, '&gt;')
		.replace(/"/g, '&quot;')
		.replace(/'/g, '&apos;');

const unescapeXml = (text: string) =>
	text
		.replace(/&lt;/g, '<')
		.replace(/&gt;/g, '>')
		.replace(/&quot;/g, '"')
		.replace(/&apos;/g, "'")
		.replace(/&amp;/g, '&');

/** The text of the first `<tag>` (any namespace prefix). */
function xmlText(xml: string, tag: string): string | undefined {
	const match = new RegExp(
		`<(?:[\\w-]+:)?${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w-]+:)?${tag}>`,
	).exec(xml);
	return match ? unescapeXml(match[1]) : undefined;
}

export async function requestSoapLogin(options: {
	loginUrl: string;
	/** The SOAP API version, at most 64.0. */
	version: string;
	username: string;
	/** Password followed by the security token. */
	password: string;
	flow: string;
	transport?: SalesforceTransport;
}): Promise<SalesforceToken> {
	const { loginUrl, flow } = options;
	const envelope = [
		'<?xml version="1.0" encoding="utf-8"?>',
		'<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">',
		'<env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com">',
		`<n1:username>${escapeXml(options.username)}</n1:username>`,
		`<n1:password>${escapeXml(options.password)}</n1:password>`,
		'</n1:login></env:Body></env:Envelope>',
	].join('');
	let text: string;
	try {
		const response = await (options.transport ?? fetchTransport())({
			method: 'POST',
			url: `${loginUrl}/services/Soap/u/${options.version}`,
			headers: { 'content-type': 'text/xml; charset=UTF-8', soapaction: 'login' },
			body: envelope,
		});
		text = response.text ?? (response.stream ? await streamText(response.stream) : '');
	} catch (error) {
		throw loginFailure('soap', flow, loginUrl, error);
	}
	const sessionId = xmlText(text, 'sessionId');
	const serverUrl = xmlText(text, 'serverUrl');
	if (!sessionId || !serverUrl) {
		const faultCode = xmlText(text, 'faultcode')?.replace(/^\w+:/, '');
		throw loginFailure('soap', flow, loginUrl, {
			error: faultCode ?? 'invalid_response',
			message:
				xmlText(text, 'faultstring')?.replace(/^[A-Z_]+: /, '') ??
				(text.slice(0, 300) || 'the SOAP login response had no session id or server URL'),
		});
	}
	return { accessToken: sessionId, instanceUrl: new URL(serverUrl).origin, issuedAt: Date.now() };
}
