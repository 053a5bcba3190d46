import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { postalCountry } from './format.js';
import { buildMultipartAlternative, mailbox } from './mime.js';
import type { Brand, Channel, PostalAddress, RenderedPart, RenderSnapshot } from './types.js';

export interface DeliveryRequest {
  deliveryId: string;
  documentId: string;
  channel: Channel;
  parts: RenderedPart[];
  customer: RenderSnapshot['customer'];
  brand: Brand;
}

export interface DeliveryReceipt {
  /** Absolute path of the file that holds the delivery. */
  location: string;
  /** Where it went: postal address, email address, `web:<customerId>` or phone number. */
  address: string;
}

/**
 * The delivery can never succeed as requested (no address for the channel, a missing part, a
 * bad id), so retrying is pointless. File-system failures are thrown as they are: those may pass.
 */
export class DeliveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export interface DeliveryChannels {
  send(req: DeliveryRequest): Promise<DeliveryReceipt>;
}

const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;
const EMAIL_ADDRESS =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const PHONE = /^\+?[0-9][0-9 ()-]{4,24}$/;

function safeId(kind: string, id: string): string {
  if (typeof id !== 'string' || !SAFE_ID.test(id)) {
    throw new DeliveryError(`${kind} ${JSON.stringify(id)} may only contain letters, digits, "_" and "-"`);
  }
  return id;
}

function partNamed(req: DeliveryRequest, name: string): RenderedPart {
  const part = req.parts.find((p) => p.name === name);
  if (!part) throw new DeliveryError(`${req.channel} delivery ${req.deliveryId} has no ${name} part`);
  return part;
}

export function formatPostalAddress(name: string, address: PostalAddress): string {
  return [
    name,
    address.line1,
    address.line2,
    `${address.city} ${address.postcode}`.trim(),
    postalCountry(address.country),
  ]
    .map((line) => (line ?? '').trim())
    .filter((line) => line !== '')
    .join(', ');
}

/** Temp file plus rename, so a crash leaves either the old file or the new one, never half of one. */
async function writeAtomic(file: string, data: Buffer | string): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await fs.open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Appends to the SMS log one send at a time per log file, so two sends of one delivery cannot
 * both miss the other's line. Keyed by path because several outboxes may share a directory.
 */
const smsLogQueues = new Map<string, Promise<unknown>>();

function serialised<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = smsLogQueues.get(key) ?? Promise.resolve();
  const next = previous.then(task, task);
  const settled = next.then(
    () => undefined,
    () => undefined,
  );
  smsLogQueues.set(key, settled);
  void settled.then(() => {
    if (smsLogQueues.get(key) === settled) smsLogQueues.delete(key);
  });
  return next;
}

async function readIfExists(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

function logHasDelivery(log: string, deliveryId: string): boolean {
  for (const line of log.split('\n')) {
    if (!line.includes(deliveryId)) continue;
    try {
      if ((JSON.parse(line) as { deliveryId?: unknown }).deliveryId === deliveryId) return true;
    } catch {
      // A torn last line from a crash: not a record, so not this delivery.
    }
  }
  return false;
}

export function createOutboxChannels(rootDir: string): DeliveryChannels {
  const root = path.resolve(rootDir);

  /** Ids are checked already; this is the second lock on the door. */
  function inside(...segments: string[]): string {
    const file = path.resolve(root, ...segments);
    const rel = path.relative(root, file);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new DeliveryError(`refusing to write outside the outbox: ${segments.join('/')}`);
    }
    return file;
  }

  async function sendPrint(req: DeliveryRequest): Promise<DeliveryReceipt> {
    const { address } = req.customer;
    if (!address) throw new DeliveryError(`customer ${req.customer.id} has no postal address`);
    const pdf = partNamed(req, 'document.pdf');
    const file = inside('print-spool', `${req.deliveryId}.pdf`);
    await writeAtomic(file, pdf.body);
    return { location: file, address: formatPostalAddress(req.customer.name, address) };
  }

  async function sendEmail(req: DeliveryRequest): Promise<DeliveryReceipt> {
    const to = req.customer.email?.trim();
    if (!to) throw new DeliveryError(`customer ${req.customer.id} has no email address`);
    if (!EMAIL_ADDRESS.test(to))
      throw new DeliveryError(`customer ${req.customer.id} has an invalid email address`);
    if (!EMAIL_ADDRESS.test(req.brand.senderEmail)) {
      throw new DeliveryError(`brand ${req.brand.id} has an invalid sender address`);
    }
    const message = buildMultipartAlternative({
      from: mailbox(req.brand.senderName, req.brand.senderEmail),
      to: mailbox(req.customer.name, to),
      subject: partNamed(req, 'subject.txt').body.toString('utf8'),
      // Delivery files are not content-hashed, so the real send time is the honest value here.
      date: new Date(),
      messageId: `${req.deliveryId}@commsgraph.local`,
      text: partNamed(req, 'body.txt').body,
      html: partNamed(req, 'body.html').body,
      extraHeaders: [['X-CommsGraph-Document', req.documentId]],
    });
    const file = inside('email', `${req.deliveryId}.eml`);
    await writeAtomic(file, message);
    return { location: file, address: to };
  }

  async function sendWeb(req: DeliveryRequest): Promise<DeliveryReceipt> {
    // Connected mode: an Exstream communication without HTML output serves its PDF on the web.
    const pdf = req.parts.find((p) => p.name === 'index.html')
      ? undefined
      : req.parts.find((p) => p.name === 'document.pdf');
    const page = pdf ?? partNamed(req, 'index.html');
    const file = inside('web', req.documentId, pdf ? 'document.pdf' : 'index.html');
    await writeAtomic(file, page.body);
    return { location: file, address: `web:${req.customer.id}` };
  }

  async function sendSms(req: DeliveryRequest): Promise<DeliveryReceipt> {
    const phone = req.customer.phone?.trim();
    if (!phone) throw new DeliveryError(`customer ${req.customer.id} has no phone number`);
    if (!PHONE.test(phone))
      throw new DeliveryError(`customer ${req.customer.id} has an invalid phone number`);
    const text = partNamed(req, 'sms.txt').body.toString('utf8');
    const file = inside('sms', 'sms.log');
    await serialised(file, async () => {
      const log = await readIfExists(file);
      if (logHasDelivery(log, req.deliveryId)) return;
      // After a torn last line, start on a fresh line so our record still parses.
      const prefix = log !== '' && !log.endsWith('\n') ? '\n' : '';
      await fs.mkdir(path.dirname(file), { recursive: true });
      // One write on an O_APPEND descriptor: concurrent appenders never interleave within it.
      const handle = await fs.open(file, 'a');
      try {
        await handle.write(`${prefix}${JSON.stringify({ deliveryId: req.deliveryId, to: phone, text })}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
    return { location: file, address: phone };
  }

  return {
    async send(req) {
      safeId('deliveryId', req.deliveryId);
      safeId('documentId', req.documentId);
      switch (req.channel) {
        case 'PRINT':
          return sendPrint(req);
        case 'EMAIL':
          return sendEmail(req);
        case 'WEB':
          return sendWeb(req);
        case 'MOBILE':
          return sendSms(req);
        default:
          throw new DeliveryError(`unknown channel ${JSON.stringify(req.channel)}`);
      }
    },
  };
}
