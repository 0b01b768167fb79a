export {
	createIntercomChannel,
	type IntercomChannelOptions,
	type IntercomContactLookup,
} from './intercom-channel';
export {
	contactCacheKey,
	IntercomContactCache,
	sharedIntercomContactCache,
	type IntercomContactCacheOptions,
} from './intercom-contacts';
export {
	DEFAULT_INTERCOM_API_VERSION,
	INTERCOM_BASE_URLS,
	type CreateMessageBody,
	type IntercomRecipientType,
	type IntercomRegion,
} from './intercom-requests';
