/**
 * The demo domain: one Exstream communication per demo template of the embedded mode
 * (src/datasources/communications/seed/templates.ts), with the same id and name, approved, and
 * manifest queues that give its channels through the default EXSTREAM_QUEUE_CHANNELS
 * (PRINT → a PDF queue, EMAIL → an HTML queue, MOBILE → an SMS queue; WEB → the HTML queue, or
 * the PDF one). The driver schema of each is the template's data schema, so a record without
 * its required data fails as MISSING_DATA would in the embedded mode.
 *
 * With the default queue mapping a template that has a PDF or HTML queue also serves WEB
 * (docs/opentext.md, "Channels"), so some demo communications list WEB where the embedded
 * template does not.
 */
import { SEED_TEMPLATES } from '../../../src/datasources/communications/seed/templates.js';
import type { ManifestQueue } from './exstream/design.js';
import type { OpenTextFake } from './server.js';

export const DEMO_DOMAIN = 'CommsGraphDemo';
/** The OAuth client of CommsGraph in the demo (fake credentials, printed by `npm run fake:opentext`). */
export const DEMO_CLIENT = {
  clientId: 'commsgraph',
  secret: 'commsgraph-fake-secret',
  groups: ['commsgraph-service'],
};

export function queuesFor(channels: readonly string[]): ManifestQueue[] {
  const queues: ManifestQueue[] = [];
  if (channels.includes('PRINT')) queues.push({ driver: 'PDF', name: 'PDF' });
  if (channels.includes('EMAIL') || (channels.includes('WEB') && !channels.includes('PRINT'))) {
    queues.push({ driver: 'HTML', name: 'HTML' });
  }
  if (channels.includes('MOBILE')) queues.push({ driver: 'SMS', name: 'SMS' });
  return queues;
}

/** Seeds the demo domain and client into a fake; returns the communication ids. */
export function seedDemo(fake: OpenTextFake, domain = DEMO_DOMAIN): string[] {
  fake.otds.addClient(DEMO_CLIENT);
  fake.design.addDomain({ id: domain });
  return SEED_TEMPLATES.map((template) => {
    const id = fake.design.addCommunication({
      id: template.id,
      name: template.name,
      content: JSON.stringify(template.content),
      state: 'APPROVED',
      queues: queuesFor(template.channels),
      driverDsn: `${template.documentType}_driver`,
      description: `Demo communication for ${template.documentType.replace(/_/g, ' ')}`,
    });
    fake.ondemand.setDriverSchema(id, template.dataSchema);
    return id;
  });
}
