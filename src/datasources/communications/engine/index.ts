/**
 * The embedded communications engine: the stand-in for OpenText Exstream that turns an approved
 * template version and an archived snapshot into channel output, and delivers it to a local outbox.
 */
export type {
  Brand,
  Channel,
  PostalAddress,
  PrintBlock,
  RenderableVersion,
  RenderedPart,
  Renderer,
  RenderResult,
  RenderSnapshot,
  TemplateContent,
} from './types.js';
export { CHANNELS } from './types.js';
export { MissingDataError, RenderUnavailableError, TemplateError } from './errors.js';
export { BRANDS } from './brands.js';
export { contentHashOf } from './hash.js';
export { chooseLanguage, declaredLanguages, DEFAULT_LANGUAGE } from './format.js';
export { createRenderer } from './render.js';
export { createRenderPool, defaultRenderWorkers, type RenderPool } from './pool.js';
export {
  CHANNEL_CONTENT_KEYS,
  channelContentProblem,
  channelContentSummary,
  missingContent,
  SMS_MAX_CHARS,
  supportedChannels,
} from './channels.js';
export {
  createOutboxChannels,
  DeliveryError,
  type DeliveryChannels,
  type DeliveryReceipt,
  type DeliveryRequest,
} from './outbox.js';
export { templateContentProblem, INLINE_HELPERS, BLOCK_HELPERS, type TemplateProblem } from './sandbox.js';
