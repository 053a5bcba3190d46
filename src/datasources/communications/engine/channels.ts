import { CHANNELS, type Channel, type TemplateContent } from './types.js';

/**
 * The content keys each channel needs, the one place that says so: the
 * lifecycle's refusal of a draft, the renderer's refusal of a version and the
 * schema's description of template content are all made from this.
 */
export const CHANNEL_CONTENT_KEYS = {
  PRINT: ['print'],
  EMAIL: ['subject', 'mjml', 'text'],
  WEB: ['html'],
  MOBILE: ['sms'],
} as const satisfies Record<Channel, readonly (keyof TemplateContent)[]>;

/** A rendered MOBILE text message is at most this many characters (one SMS). */
export const SMS_MAX_CHARS = 160;

/** The keys `channel` needs that `content` lacks (empty or absent), in CHANNEL_CONTENT_KEYS order. */
export function missingContent(content: TemplateContent, channel: Channel): string[] {
  const keys: readonly string[] = CHANNEL_CONTENT_KEYS[channel];
  const own = content as Record<string, unknown>;
  return keys.filter((k) => !Object.hasOwn(own, k) || !own[k]);
}

/** Which channels a template version's content can be rendered for. */
export function supportedChannels(content: TemplateContent): Channel[] {
  return CHANNELS.filter((c) => missingContent(content, c).length === 0);
}

/** "a", "a and b", "a, b and c". */
function list(items: readonly string[]): string {
  return items.length < 2 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** "EMAIL needs subject, mjml and text (missing: mjml and text)" for one channel the content cannot serve. */
export function channelContentProblem(content: TemplateContent, channel: Channel): string | null {
  const missing = missingContent(content, channel);
  if (!missing.length) return null;
  return `${channel} needs ${list(CHANNEL_CONTENT_KEYS[channel])} (missing: ${list(missing)})`;
}

/** "PRINT: print; EMAIL: subject, mjml, text; WEB: html; MOBILE: sms", for descriptions and messages. */
export function channelContentSummary(): string {
  return CHANNELS.map((c) => `${c}: ${CHANNEL_CONTENT_KEYS[c].join(', ')}`).join('; ');
}
