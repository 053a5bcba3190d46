import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BRANDS,
  createOutboxChannels,
  createRenderer,
  DeliveryError,
  type Channel,
  type DeliveryRequest,
  type RenderedPart,
} from '../../../src/datasources/communications/engine/index.js';
import {
  encodedWords,
  mailbox,
  unstructuredHeader,
} from '../../../src/datasources/communications/engine/mime.js';
import { demoVersion, LUKASZ, MARGARET, snapshot, STEFAN } from './fixtures.js';

type Customer = DeliveryRequest['customer'];

/** A deliberately small RFC 5322 / MIME reader, enough to check what a mail client would see. */
function parseEml(eml: string) {
  expect(eml).not.toMatch(/[^\r]\n/); // CRLF line endings only
  const [head, ...rest] = eml.split('\r\n\r\n');
  const body = rest.join('\r\n\r\n');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]/g, ' ').split('\r\n')) {
    const i = line.indexOf(':');
    headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  const decodeWords = (value: string) =>
    value
      .replace(/\?=\s+=\?/g, '?==?')
      .replace(/=\?UTF-8\?B\?([^?]*)\?=/gi, (_m, b64: string) => Buffer.from(b64, 'base64').toString('utf8'));
  const boundary = /boundary="([^"]+)"/.exec(headers.get('content-type') ?? '')?.[1];
  const parts = (boundary ? body.split(`--${boundary}`).slice(1, -1) : []).map((raw) => {
    const [partHead, ...partBody] = raw.replace(/^\r\n/, '').split('\r\n\r\n');
    const type = /Content-Type: ([^;\r\n]+)/i.exec(partHead)?.[1];
    const encoding = /Content-Transfer-Encoding: (\S+)/i.exec(partHead)?.[1];
    const content = partBody.join('\r\n\r\n').replace(/\r\n$/, '');
    return {
      type,
      encoding,
      text: encoding === 'base64' ? Buffer.from(content, 'base64').toString('utf8') : content,
    };
  });
  const lastLine = body.trimEnd().split('\r\n').pop();
  return { headers, decodeWords, boundary, parts, lastLine, eml };
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full, base)));
    else out.push(path.relative(base, full));
  }
  return out.sort();
}

describe('outbox delivery channels', () => {
  let root: string;
  const renderer = createRenderer();
  const render = async (channel: Channel, customer: Customer): Promise<RenderedPart[]> =>
    (await renderer.render(demoVersion(), channel, snapshot(customer, { amount: 1234.5, currency: 'EUR' })))
      .parts;
  const request = async (
    channel: Channel,
    customer: Customer,
    ids: Partial<DeliveryRequest> = {},
  ): Promise<DeliveryRequest> => ({
    deliveryId: 'dlv_1',
    documentId: 'doc_1',
    channel,
    parts: await render(channel, customer),
    customer,
    brand: BRANDS[customer.brand],
    ...ids,
  });

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'commsgraph-outbox-'));
  });
  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('spools PRINT to print-spool/<deliveryId>.pdf with the postal address', async () => {
    const outbox = createOutboxChannels(root);
    const req = await request('PRINT', STEFAN);
    const receipt = await outbox.send(req);
    expect(receipt.location).toBe(path.join(root, 'print-spool', 'dlv_1.pdf'));
    expect(receipt.address).toBe('Ștefan Ionescu, Strada Lalelelor 14, Ap. 6, București 030167, ROMANIA');
    expect((await fs.readFile(receipt.location)).equals(req.parts[0].body)).toBe(true);
  });

  it('refuses PRINT for a customer without a postal address', async () => {
    const outbox = createOutboxChannels(root);
    const customer = { ...LUKASZ, address: null };
    await expect(outbox.send(await request('PRINT', customer))).rejects.toThrow(DeliveryError);
    expect(await listFiles(root)).toEqual([]);
  });

  it('writes EMAIL as a multipart/alternative .eml a mail client can read', async () => {
    const outbox = createOutboxChannels(root);
    const req = await request('EMAIL', LUKASZ);
    const receipt = await outbox.send(req);
    expect(receipt).toEqual({
      location: path.join(root, 'email', 'dlv_1.eml'),
      address: 'lukasz.zolc@example.com',
    });

    const mail = parseEml(await fs.readFile(receipt.location, 'utf8'));
    expect(mail.decodeWords(mail.headers.get('to')!)).toBe('Łukasz Żółć <lukasz.zolc@example.com>');
    expect(mail.headers.get('to')).toMatch(/^=\?UTF-8\?B\?/); // non-ASCII names are RFC 2047-encoded
    expect(mail.decodeWords(mail.headers.get('subject')!)).toBe('Hello Łukasz Żółć');
    expect(mail.headers.get('from')).toBe(
      'Northwind Assurance Customer Care <care@northwind-assurance.example>',
    );
    expect(mail.headers.get('message-id')).toBe('<dlv_1@commsgraph.local>');
    expect(mail.headers.get('mime-version')).toBe('1.0');
    expect(mail.headers.get('date')).toMatch(
      /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/,
    );
    expect(mail.headers.get('content-type')).toMatch(/^multipart\/alternative; boundary="/);
    expect(mail.parts.map((p) => [p.type, p.encoding])).toEqual([
      ['text/plain', 'base64'],
      ['text/html', 'base64'],
    ]);
    expect(mail.parts[0].text).toBe(req.parts.find((p) => p.name === 'body.txt')!.body.toString('utf8'));
    expect(mail.parts[1].text).toBe(req.parts.find((p) => p.name === 'body.html')!.body.toString('utf8'));
    expect(mail.lastLine).toBe(`--${mail.boundary}--`);
    expect(mail.eml.split('\r\n').filter((line) => line.length > 78)).toEqual([]);
  });

  it('keeps plain-ASCII headers readable and quotes display names that need it', async () => {
    const outbox = createOutboxChannels(root);
    const customer = { ...MARGARET, name: 'Thornton, Margaret "Meg"', email: 'meg@example.com' };
    const receipt = await outbox.send(await request('EMAIL', customer));
    const mail = parseEml(await fs.readFile(receipt.location, 'utf8'));
    expect(mail.headers.get('to')).toBe('"Thornton, Margaret \\"Meg\\"" <meg@example.com>');
    expect(mail.headers.get('subject')).toBe('Hello Thornton, Margaret "Meg"');
  });

  it('refuses EMAIL without a usable address, and never lets one inject headers', async () => {
    const outbox = createOutboxChannels(root);
    await expect(outbox.send(await request('EMAIL', MARGARET))).rejects.toThrow(
      new DeliveryError('customer cus_003 has no email address'),
    );
    for (const email of [
      'not-an-address',
      'a@example.com\r\nBcc: victim@example.com',
      'a@example.com>, b@example.com',
    ]) {
      const customer = { ...LUKASZ, email };
      await expect(outbox.send(await request('EMAIL', customer))).rejects.toThrow(DeliveryError);
    }
    expect(await listFiles(root)).toEqual([]);
  });

  it('publishes WEB to web/<documentId>/index.html', async () => {
    const outbox = createOutboxChannels(root);
    const receipt = await outbox.send(await request('WEB', STEFAN, { documentId: 'doc_web_7' }));
    expect(receipt).toEqual({
      location: path.join(root, 'web', 'doc_web_7', 'index.html'),
      address: 'web:cus_002',
    });
    expect(await fs.readFile(receipt.location, 'utf8')).toContain('Ștefan Ionescu');
  });

  it('logs MOBILE once per delivery id', async () => {
    const outbox = createOutboxChannels(root);
    const first = await outbox.send(await request('MOBILE', LUKASZ));
    await outbox.send(await request('MOBILE', LUKASZ));
    await Promise.all(
      [1, 2, 3].map(async () => outbox.send(await request('MOBILE', LUKASZ, { deliveryId: 'dlv_2' }))),
    );
    expect(first).toEqual({ location: path.join(root, 'sms', 'sms.log'), address: '+44 7700 900101' });
    const lines = (await fs.readFile(first.location, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual([
      { deliveryId: 'dlv_1', to: '+44 7700 900101', text: 'Northwind Assurance: you owe 1234,50\u00a0€.' },
      { deliveryId: 'dlv_2', to: '+44 7700 900101', text: 'Northwind Assurance: you owe 1234,50\u00a0€.' },
    ]);
  });

  it('starts a fresh line after a torn last line in the SMS log', async () => {
    const outbox = createOutboxChannels(root);
    await fs.mkdir(path.join(root, 'sms'));
    await fs.writeFile(path.join(root, 'sms', 'sms.log'), '{"deliveryId":"dlv_0","to":"+4');
    await outbox.send(await request('MOBILE', LUKASZ));
    const lines = (await fs.readFile(path.join(root, 'sms', 'sms.log'), 'utf8')).split('\n');
    expect(JSON.parse(lines[1])).toMatchObject({ deliveryId: 'dlv_1' });
  });

  it('refuses MOBILE without a phone number', async () => {
    await expect(createOutboxChannels(root).send(await request('MOBILE', STEFAN))).rejects.toThrow(
      DeliveryError,
    );
  });

  it('overwrites the same file when a delivery is sent again, leaving no temporary files', async () => {
    const outbox = createOutboxChannels(root);
    await outbox.send(await request('PRINT', LUKASZ));
    await outbox.send(await request('PRINT', LUKASZ));
    await outbox.send(await request('EMAIL', LUKASZ));
    await outbox.send(await request('EMAIL', LUKASZ));
    expect(await listFiles(root)).toEqual(['email/dlv_1.eml', 'print-spool/dlv_1.pdf']);
  });

  it.each([
    ['deliveryId', '../escape'],
    ['deliveryId', '..'],
    ['deliveryId', 'a/b'],
    ['deliveryId', ''],
    ['documentId', '../../etc'],
    ['documentId', 'doc 1'],
    ['documentId', 'doc\u0000'],
  ])('rejects %s %j without writing anything', async (field, id) => {
    const outbox = createOutboxChannels(path.join(root, 'outbox'));
    for (const channel of ['PRINT', 'WEB'] as const) {
      await expect(outbox.send(await request(channel, LUKASZ, { [field]: id }))).rejects.toThrow(
        DeliveryError,
      );
    }
    expect(await listFiles(root)).toEqual([]);
  });

  it('refuses a request whose parts do not match the channel', async () => {
    const outbox = createOutboxChannels(root);
    const req = { ...(await request('EMAIL', LUKASZ)), channel: 'PRINT' as const };
    await expect(outbox.send(req)).rejects.toThrow(
      new DeliveryError('PRINT delivery dlv_1 has no document.pdf part'),
    );
  });
});

describe('mail headers', () => {
  const decode = (header: string) =>
    header
      .replace(/\r\n /g, ' ')
      .replace(/\?= =\?/g, '?==?')
      .replace(/=\?UTF-8\?B\?([^?]*)\?=/g, (_m, b64: string) => Buffer.from(b64, 'base64').toString('utf8'));

  it('folds long subjects and splits encoded words on character boundaries', () => {
    const subjects = [
      'Your statement for the period ending 28 February 2025 is ready to view in online banking today',
      'Zażółć gęślą jaźń — Ștefan Ionescu, your statement of €1,234.50 is ready 😀 '.repeat(3).trim(),
      'Looks like =?UTF-8?B?SGk=?= but is not',
    ];
    for (const subject of subjects) {
      const header = unstructuredHeader('Subject', subject);
      expect(header.split('\r\n').filter((line) => line.length > 78)).toEqual([]);
      expect(decode(header)).toBe(`Subject: ${subject}`);
      expect(header.split('\r\n').every((line) => /^[\x20-\x7e]*$/.test(line))).toBe(true);
    }
    for (const word of encodedWords('ąęółśżźćń€😀'.repeat(10))) {
      expect(word.length).toBeLessThanOrEqual(75);
      expect(Buffer.from(word.slice(10, -2), 'base64').toString('utf8')).not.toContain('\ufffd');
    }
  });

  it('writes display names as atoms, quoted strings or encoded words', () => {
    expect(mailbox('Margaret Thornton', 'm@example.com')).toBe('Margaret Thornton <m@example.com>');
    expect(mailbox('Thornton, M.', 'm@example.com')).toBe('"Thornton, M." <m@example.com>');
    expect(decode(mailbox('Zoë Ångström', 'z@example.org'))).toBe('Zoë Ångström <z@example.org>');
    expect(mailbox('Evil\r\nBcc: x@example.com', 'm@example.com')).toBe(
      '"Evil Bcc: x@example.com" <m@example.com>',
    );
  });
});
