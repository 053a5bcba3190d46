export type Channel = 'PRINT' | 'EMAIL' | 'WEB' | 'MOBILE';

export const CHANNELS: readonly Channel[] = ['PRINT', 'EMAIL', 'WEB', 'MOBILE'];

export interface TemplateContent {
  /**
   * BCP 47 tag of the language the text is written in (or several, when the text suits each, e.g.
   * en-GB and en-IE): every date and amount of the letter is written in it. Where several are
   * listed the customer's locale chooses among them; otherwise the first. Drafts without one get
   * DEFAULT_LANGUAGE (format.ts).
   */
  language?: string | string[];
  /** Handlebars. EMAIL subject. */
  subject?: string;
  /**
   * MJML source with Handlebars expressions, for EMAIL HTML. Compiled by mjml once per
   * template version, then Handlebars-rendered per document. Handlebars block helpers
   * ({{#each}}, {{#if}}) must sit inside an ending tag (mj-text, mj-table, mj-raw), because
   * mjml drops loose text between structural components.
   */
  mjml?: string;
  /** Handlebars text body: EMAIL text part. */
  text?: string;
  /** Handlebars HTML for WEB: the page's main content; the engine adds the branded page shell. */
  html?: string;
  /** PRINT layout for pdfkit: title + blocks, every string a Handlebars template. */
  print?: { title: string; blocks: PrintBlock[] };
  /** Handlebars, MOBILE SMS text; the rendered result must be at most 160 characters. */
  sms?: string;
}

export type PrintBlock =
  | { kind: 'heading'; text: string }
  | { kind: 'paragraph'; text: string }
  /** label, value (both Handlebars) */
  | { kind: 'table'; rows: Array<[string, string]> }
  | { kind: 'signature'; text: string };

export interface RenderableVersion {
  id: string;
  content: TemplateContent;
  dataSchema: Record<string, unknown>;
  /** The template (an Exstream communication id in connected mode) and its name. */
  templateId?: string;
  templateName?: string;
}

export interface Brand {
  id: string;
  name: string;
  primaryColour: string;
  logoText: string;
  senderName: string;
  senderEmail: string;
  footer: string;
}

export interface PostalAddress {
  line1: string;
  line2?: string;
  city: string;
  postcode: string;
  country: string;
}

export interface RenderSnapshot {
  customer: {
    id: string;
    name: string;
    email: string | null;
    phone: string | null;
    address: PostalAddress | null;
    locale: string;
    brand: string;
    segments: string[];
  };
  data: Record<string, unknown>;
  case?: { id: string; title: string } | null;
  /** ISO date of issue; part of the archived snapshot so re-rendering gives the same bytes. */
  issuedAt: string;
}

/** Bodies are UTF-8 for every text/* part. */
export interface RenderedPart {
  name: string;
  mediaType: string;
  body: Buffer;
}

export interface RenderResult {
  parts: RenderedPart[];
  contentHash: string;
  mediaType: string;
}

export interface Renderer {
  render(version: RenderableVersion, channel: Channel, snapshot: RenderSnapshot): Promise<RenderResult>;
  /**
   * The id of the version this backend would generate `version`'s template from now, read
   * fresh just before a call, or null when it has none. Only a backend that picks the version
   * itself has it (connected mode: Exstream generates from the communication's approved
   * version); the embedded engine renders the version it is given. An outage throws
   * RenderUnavailableError.
   */
  currentVersionId?(version: RenderableVersion): Promise<string | null>;
}
