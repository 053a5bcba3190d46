import {
  approvalComment,
  channelsOf,
  documentTypeOf,
  graphStatuses,
  isExstreamContent,
} from '../../../src/datasources/communications/catalogue/mapping.js';
import type { Channel } from '../../../src/config/opentext.js';

/** The contract's mapping of Exstream Design to the graph's catalogue ("Templates are the domain's communications"). */
describe('Exstream catalogue mapping', () => {
  it('maps states as the contract says; an approved version superseded by a newer approved one is RETIRED', () => {
    const statuses = graphStatuses([
      { version: 1, state: 'APPROVED' },
      { version: 2, state: 'APPROVED' },
      { version: 3, state: 'REVIEW' },
    ]);
    expect([...statuses]).toEqual([
      [1, 'RETIRED'],
      [2, 'APPROVED'],
      [3, 'IN_REVIEW'],
    ]);
    expect([...graphStatuses([{ version: 1, state: 'REJECTED' }])]).toEqual([[1, 'DRAFT']]);
    expect([...graphStatuses([{ version: 1, state: 'DRAFT' }])]).toEqual([[1, 'DRAFT']]);
    // An approved version followed by a draft is still the one in use.
    expect([
      ...graphStatuses([
        { version: 1, state: 'APPROVED' },
        { version: 2, state: 'DRAFT' },
      ]),
    ]).toEqual([
      [1, 'APPROVED'],
      [2, 'DRAFT'],
    ]);
  });

  it('takes channels from the manifest queue drivers through EXSTREAM_QUEUE_CHANNELS, each once, in schema order', () => {
    const queueChannels: Record<string, Channel[]> = {
      PDF: ['PRINT', 'WEB'],
      HTML: ['EMAIL', 'WEB'],
      SMS: ['MOBILE'],
    };
    expect(channelsOf(['SMS', 'HTML', 'PDF'], queueChannels)).toEqual(['PRINT', 'EMAIL', 'WEB', 'MOBILE']);
    expect(channelsOf(['HTML'], queueChannels)).toEqual(['EMAIL', 'WEB']);
    expect(channelsOf(['Empower'], queueChannels)).toEqual([]);
  });

  it('names the deciders, their stages and the content hash in the audited comment', () => {
    expect(
      approvalComment(
        [
          { stage: 'APPROVAL', by: 'ann' },
          { stage: 'COMPLIANCE', by: 'carl' },
        ],
        'abc123',
      ),
    ).toBe('Approved in CommsGraph by ann (APPROVAL), carl (COMPLIANCE); content sha256:abc123');
  });

  it('gives a new communication a document type from its name', () => {
    expect(documentTypeOf('Welcome pack (Exstream)')).toBe('welcome_pack_exstream');
    expect(documentTypeOf('2024 notice')).toBe('communication_2024_notice');
    expect(documentTypeOf('***')).toBe('communication_unnamed');
  });

  it('tells a mirrored content reference from embedded content', () => {
    expect(isExstreamContent({ exstream: { communicationId: 'c', version: 1, contentHash: 'h' } })).toBe(
      true,
    );
    expect(isExstreamContent({ print: { body: 'x' } })).toBe(false);
    expect(isExstreamContent(null)).toBe(false);
  });
});
