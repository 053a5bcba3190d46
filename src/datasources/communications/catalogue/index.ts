/**
 * The template catalogue seam: where the graph's templates come from.
 * - embedded (default): the graph's own tables, authored through the graph (today's behaviour).
 * - exstream (`GENERATION_BACKEND=exstream`): Exstream Design's communications, mirrored
 *   (exstream.ts); authoring is Exstream's, approval in the graph drives Exstream's states.
 */
import type { Kysely } from 'kysely';
import type { Outbox } from '../../../events/index.js';
import type { CommunicationsDB, TemplateRow } from '../../../store/tables.js';
import type { OpenTextConnection } from '../../../subgraphs/types.js';
import type { CommunicationsReader } from '../reader.js';
import type { TemplateAuthority } from '../templates.js';
import { ExstreamCatalogue } from './exstream.js';
import { CatalogueMirror } from './mirror.js';

/** A history entry from the upstream, in the shape of a template trail entry. */
export interface CatalogueHistoryEntry {
  id: string;
  at: Date;
  actor: string;
  action: string;
  detail: Record<string, unknown>;
}

export interface TemplateCatalogue {
  readonly source: 'embedded' | 'exstream';
  /** The upstream that owns content and states, for the template lifecycle; null: the graph does. */
  readonly authority: TemplateAuthority | null;
  /** The templates the graph lists. */
  templates(): Promise<TemplateRow[]>;
  /** The upstream's history of each template (merged into `Template.history`); empty when none. */
  history(templateIds: readonly string[]): Promise<CatalogueHistoryEntry[][]>;
  /** Reads the upstream again now; returns how many versions changed. */
  refresh(communicationId?: string): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

/** Today's catalogue: the graph's own tables; nothing to refresh. */
export class EmbeddedCatalogue implements TemplateCatalogue {
  readonly source = 'embedded' as const;
  readonly authority = null;
  constructor(private readonly reader: CommunicationsReader) {}
  templates(): Promise<TemplateRow[]> {
    return this.reader.allTemplates();
  }
  async history(templateIds: readonly string[]): Promise<CatalogueHistoryEntry[][]> {
    return templateIds.map(() => []);
  }
  async refresh(): Promise<number> {
    return 0;
  }
  start(): void {}
  async stop(): Promise<void> {}
}

export function createTemplateCatalogue(deps: {
  db: Kysely<CommunicationsDB>;
  outbox: Outbox<CommunicationsDB>;
  reader: CommunicationsReader;
  opentext?: OpenTextConnection;
}): TemplateCatalogue {
  const config = deps.opentext?.config;
  const design = deps.opentext?.upstreams.exstream?.design;
  if (config?.generationBackend !== 'exstream' || !config.exstream || !design) {
    return new EmbeddedCatalogue(deps.reader);
  }
  const { dataSchemas, queueChannels, catalogueRefreshMs } = config.exstream;
  const mirror = new CatalogueMirror(
    deps.db,
    deps.outbox,
    // Contract: the file in EXSTREAM_DATA_SCHEMAS for the communication, else any object.
    (id) => dataSchemas[id] ?? { type: 'object' },
  );
  return new ExstreamCatalogue(design, mirror, { refreshMs: catalogueRefreshMs, queueChannels });
}

export { ExstreamCatalogue } from './exstream.js';
export { isExstreamContent } from './mapping.js';
export type { MirroredCommunication } from './mirror.js';
