import { InvalidInputError } from '../../src/errors';
import {
	buildPersonalizationContext,
	renderJsonTemplate,
	renderJsonValue,
	renderTemplate,
	TEMPLATE_CACHE_MAX_ENTRIES,
	templateCacheSize,
	type PersonalizationContext,
} from '../../src/send/personalize';

const context: PersonalizationContext = buildPersonalizationContext({
	userId: 'u-42',
	profile: {
		userId: 'u-42',
		email: 'ada@example.com',
		phone: '+4915112345678',
		timeZone: 'Europe/Berlin',
		unsubscribed: false,
		attributes: { first_name: 'Ada', plan: 'trial', email: 'attribute@example.com', seats: 3 },
		externalIds: { intercom: 'ic-9' },
		updatedAt: Date.parse('2026-03-01T08:00:00Z'),
	},
	event: {
		name: 'Cart Abandoned',
		properties: {
			cart_id: 'A1',
			total: 59.9,
			items: [{ sku: 'X', qty: 2 }],
			note: 'say "hi"\n\\o/',
		},
		occurredAt: Date.parse('2026-03-10T10:00:00Z'),
	},
	campaignId: 'cart',
	entryId: 'e-1',
	variant: 'B',
});

const lenient = { strictVariables: false, field: 'Body' };
const strict = { strictVariables: true, field: 'Body' };

async function failure(promise: Promise<unknown>): Promise<InvalidInputError> {
	try {
		await promise;
	} catch (error) {
		expect(error).toBeInstanceOf(InvalidInputError);
		return error as InvalidInputError;
	}
	throw new Error('expected the render to fail');
}

describe('buildPersonalizationContext', () => {
	it('flattens attributes into user without letting them shadow the identity fields', () => {
		expect(context.user).toEqual({
			id: 'u-42',
			email: 'ada@example.com',
			phone: '+4915112345678',
			timeZone: 'Europe/Berlin',
			first_name: 'Ada',
			plan: 'trial',
			seats: 3,
		});
		expect(context.profile).toEqual({
			userId: 'u-42',
			email: 'ada@example.com',
			phone: '+4915112345678',
			timeZone: 'Europe/Berlin',
			unsubscribed: false,
			attributes: { first_name: 'Ada', plan: 'trial', email: 'attribute@example.com', seats: 3 },
			externalIds: { intercom: 'ic-9' },
			updatedAt: '2026-03-01T08:00:00.000Z',
		});
		expect(context.event.occurredAt).toBe('2026-03-10T10:00:00.000Z');
		expect(context.campaign).toEqual({ id: 'cart', entryId: 'e-1' });
		expect(context.variant).toEqual({ name: 'B' });
	});

	it('leaves absent values absent, so strict rendering reports them', async () => {
		const bare = buildPersonalizationContext({ userId: 'u-1', campaignId: 'c' });
		expect(bare).toEqual({
			user: { id: 'u-1' },
			event: { properties: {} },
			campaign: { id: 'c' },
			variant: {},
		});
		expect(
			(await failure(renderTemplate('{{ profile.attributes.plan }}', bare, strict))).message,
		).toBe('Body: undefined variable "profile"');
	});
});

describe('renderTemplate', () => {
	it('reads user, profile, event, campaign and variant', async () => {
		const template =
			'{{ user.first_name }} <{{ user.email }}> {{ user.plan }}/{{ profile.attributes.plan }} ' +
			'{{ profile.attributes.email }} {{ profile.externalIds.intercom }} {{ event.name }} ' +
			'{{ event.properties.cart_id }} {{ campaign.id }}/{{ campaign.entryId }} {{ variant.name }}';
		expect(await renderTemplate(template, context, strict)).toBe(
			'Ada <ada@example.com> trial/trial attribute@example.com ic-9 Cart Abandoned A1 cart/e-1 B',
		);
	});

	it('applies standard filters; dates print in UTC unless a zone is given', async () => {
		expect(
			await renderTemplate(
				'{{ user.nickname | default: "there" }} {{ user.first_name | upcase }} ' +
					'{{ event.occurredAt | date: "%Y-%m-%d %H:%M" }} ' +
					'{{ event.occurredAt | date: "%H:%M", user.timeZone }} ' +
					'{{ event.properties.total | times: 2 }} {{ event.properties.items | size }} ' +
					'{{ "a b&c" | url_encode }} {{ "<b>" | escape }}',
				context,
				strict,
			),
		).toBe('there ADA 2026-03-10 10:00 11:00 119.8 1 a+b%26c &lt;b&gt;');
		expect(
			await renderTemplate('{% if user.vip %}VIP{% else %}regular{% endif %}', context, strict),
		).toBe('regular');
	});

	it('prints missing variables as nothing unless strict', async () => {
		expect(await renderTemplate('cart [{{ event.properties.cart_idd }}]', context, lenient)).toBe(
			'cart []',
		);
		const error = await failure(
			renderTemplate('cart {{ event.properties.cart_idd }}', context, strict),
		);
		expect(error.message).toBe('Body: undefined variable "event.properties.cart_idd"');
		expect(error.field).toBe('Body');
		// Inside tags too.
		expect(
			(
				await failure(
					renderTemplate('{% for i in event.properties.lines %}{{ i }}{% endfor %}', context, {
						strictVariables: true,
						field: 'variants[1].body',
					}),
				)
			).message,
		).toBe('variants[1].body: undefined variable "event.properties.lines"');
	});

	it('reports syntax errors and unknown filters naming the field', async () => {
		expect((await failure(renderTemplate('Hi {{ user.first_name', context, lenient))).message).toBe(
			'Body: template syntax error: output "{{ user.first_name" not closed, line:1, col:4',
		);
		expect((await failure(renderTemplate('{{ user.id | shout }}', context, lenient))).message).toBe(
			'Body: template syntax error: undefined filter: shout, line:1, col:1',
		);
		expect(
			(await failure(renderTemplate('{% if %}x{% endif %}', context, lenient))).message,
		).toMatch(/^Body: template syntax error: /);
	});

	it('cannot read files of the host', async () => {
		for (const template of [
			'{% include "package.json" %}',
			'{% render "/etc/passwd" %}',
			'{% layout "x" %}',
		]) {
			expect((await failure(renderTemplate(template, context, lenient))).message).toMatch(
				/^Body: template syntax error: tag "(include|render|layout)" not found/,
			);
		}
	});

	it('does not expose prototype properties', async () => {
		expect(
			await renderTemplate('[{{ user.constructor }}{{ user.__proto__ }}]', context, lenient),
		).toBe('[]');
	});

	it('returns text without Liquid as it is and keeps the parsed-template cache bounded', async () => {
		expect(await renderTemplate('plain {text}', context, strict)).toBe('plain {text}');
		for (let i = 0; i < TEMPLATE_CACHE_MAX_ENTRIES + 50; i++) {
			expect(await renderTemplate(`{{ user.id }}-${i}`, context, strict)).toBe(`u-42-${i}`);
		}
		expect(templateCacheSize()).toBe(TEMPLATE_CACHE_MAX_ENTRIES);
		// Reused templates still render right for other contexts.
		const other = buildPersonalizationContext({ userId: 'u-7', campaignId: 'c' });
		expect(
			await renderTemplate(`{{ user.id }}-${TEMPLATE_CACHE_MAX_ENTRIES + 49}`, other, strict),
		).toBe(`u-7-${TEMPLATE_CACHE_MAX_ENTRIES + 49}`);
	});

	it('json prints values as JSON text', async () => {
		expect(
			await renderTemplate(
				'{{ event.properties.note | json }} {{ event.properties.items | json }} {{ user.missing | json }}',
				context,
				lenient,
			),
		).toBe('"say \\"hi\\"\\n\\\\o/" [{"sku":"X","qty":2}] null');
	});
});

describe('renderJsonTemplate', () => {
	const bodyField = { strictVariables: true, field: 'Body Template' };

	it('renders string values, keeping user data intact however it is quoted', async () => {
		const template = JSON.stringify({
			to: '{{ user.phone }}',
			text: 'Hi {{ user.first_name }}: {{ event.properties.note }}',
			literal: 'no liquid "here"',
			count: 2,
			flag: true,
			none: null,
			nested: { list: ['{{ campaign.id }}', 3, '{{ variant.name | downcase }}'] },
			'{{ user.id }}': 'keys stay literal',
		});
		expect(
			await renderJsonTemplate(
				template,
				{ ...context, message: { body: 'Line 1\n"Line 2"' } },
				bodyField,
			),
		).toEqual({
			to: '+4915112345678',
			text: 'Hi Ada: say "hi"\n\\o/',
			literal: 'no liquid "here"',
			count: 2,
			flag: true,
			none: null,
			nested: { list: ['cart', 3, 'b'] },
			'{{ user.id }}': 'keys stay literal',
		});
	});

	it('a whole value "{{ ... | json }}" becomes that JSON value', async () => {
		const template = `{
			"amount": "{{ event.properties.total | json }}",
			"items": "{{ event.properties.items | json }}",
			"seats": "{{- user.seats | plus: 1 | json -}}",
			"id_as_text": "{{ user.seats }}",
			"missing": "{{ user.nickname | default: nil | json }}",
			"mixed": "total {{ event.properties.total | json }}",
			"body": "{{ message.body | json }}"
		}`;
		expect(
			await renderJsonTemplate(template, { ...context, message: { body: 'a "b"' } }, bodyField),
		).toEqual({
			amount: 59.9,
			items: [{ sku: 'X', qty: 2 }],
			seats: 4,
			id_as_text: '3',
			missing: null,
			mixed: 'total 59.9',
			body: 'a "b"',
		});
	});

	it('rejects a template that is not JSON, naming the field', async () => {
		const error = await failure(
			renderJsonTemplate('{"count": {{ event.properties.total }}}', context, bodyField),
		);
		expect(error.field).toBe('Body Template');
		expect(error.message).toMatch(
			/^Body Template: is not valid JSON \(.+\)\. Put Liquid inside JSON strings/,
		);
	});

	it('says where in the body a variable is missing', async () => {
		const error = await failure(
			renderJsonTemplate(
				'{"data": {"lines": ["ok", "{{ event.properties.coupon }}"]}}',
				context,
				bodyField,
			),
		);
		expect(error.message).toBe(
			'Body Template: undefined variable "event.properties.coupon" (at data.lines[1])',
		);
		expect(
			(await failure(renderJsonTemplate('{"a b": "{{ user.id"}', context, bodyField))).message,
		).toMatch(
			/^Body Template: template syntax error \(at \["a b"\]\): output "\{\{ user\.id" not closed/,
		);
	});

	it('an empty template is no body; a parsed value renders the same way', async () => {
		expect(await renderJsonTemplate('  ', context, bodyField)).toBeUndefined();
		expect(
			await renderJsonValue(
				{ to: '{{ user.email }}', n: '{{ user.seats | json }}' },
				context,
				bodyField,
			),
		).toEqual({
			to: 'ada@example.com',
			n: 3,
		});
	});

	it('keeps a "__proto__" key as data', async () => {
		const rendered = (await renderJsonTemplate(
			'{"__proto__": {"x": "{{ user.id }}"}}',
			context,
			bodyField,
		)) as Record<string, unknown>;
		expect(Object.getPrototypeOf(rendered)).toBe(Object.prototype);
		expect(Object.keys(rendered)).toEqual(['__proto__']);
		expect(JSON.stringify(rendered)).toBe('{"__proto__":{"x":"u-42"}}');
	});
});
