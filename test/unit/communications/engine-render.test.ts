import { createHash } from 'node:crypto';
import {
  BRANDS,
  contentHashOf,
  createRenderer,
  MissingDataError,
  TemplateError,
  type RenderableVersion,
} from '../../../src/datasources/communications/engine/index.js';
import { fontBuffers, printFonts } from '../../../src/datasources/communications/engine/fonts.js';
import { renderLetterPdf, type PrintLetter } from '../../../src/datasources/communications/engine/pdf.js';
import { demoVersion, LUKASZ, MARGARET, partText, snapshot, STEFAN } from './fixtures.js';

const DATA = { amount: 1234.5, currency: 'EUR' };

/** The ToUnicode maps pdfkit writes list each used character as 4 hex digits (UTF-16BE). */
function pdfMapsCharacter(pdf: Buffer, ch: string): boolean {
  const hex = Buffer.from(ch, 'utf16le').swap16().toString('hex').toUpperCase();
  return pdf.toString('latin1').toUpperCase().includes(`<${hex}>`);
}

describe('PRINT', () => {
  it('renders a PDF that is byte-identical across renders and renderer instances', async () => {
    const a = createRenderer();
    const b = createRenderer();
    const snap = snapshot(LUKASZ, DATA);
    const first = await a.render(demoVersion(), 'PRINT', snap);
    const second = await a.render(demoVersion(), 'PRINT', snap);
    const third = await b.render(demoVersion(), 'PRINT', snapshot(LUKASZ, { ...DATA }));

    expect(first.mediaType).toBe('application/pdf');
    expect(first.parts).toHaveLength(1);
    const [pdf] = first.parts;
    expect(pdf.name).toBe('document.pdf');
    expect(pdf.mediaType).toBe('application/pdf');
    expect(pdf.body.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.body.subarray(-6).toString('latin1')).toContain('%%EOF');
    expect(second.parts[0].body.equals(pdf.body)).toBe(true);
    expect(third.parts[0].body.equals(pdf.body)).toBe(true);
    expect(first.contentHash).toBe(third.contentHash);
    expect(first.contentHash).toBe(contentHashOf(first.parts));
  });

  it('takes its dates and trailer ID from issuedAt, not from the clock', async () => {
    const renderer = createRenderer();
    const march = await renderer.render(demoVersion(), 'PRINT', snapshot(LUKASZ, DATA));
    const april = await renderer.render(
      demoVersion(),
      'PRINT',
      snapshot(LUKASZ, DATA, { issuedAt: '2025-04-15T08:00:00Z' }),
    );
    const text = march.parts[0].body.toString('latin1');
    // pdfkit writes each info entry as its own object: "/CreationDate 13 0 R" ... "13 0 obj (D:...)".
    const dateObjects = (pdf: string) =>
      ['CreationDate', 'ModDate'].map((key) => {
        const ref = new RegExp(`/${key} (\\d+) 0 R`).exec(pdf);
        return ref ? new RegExp(`\\n${ref[1]} 0 obj\\n\\((D:\\d{14}Z)\\)`).exec(pdf)?.[1] : undefined;
      });
    expect(dateObjects(text)).toEqual(['D:20250301093000Z', 'D:20250301093000Z']);
    const id = /\/ID \[<([0-9a-f]+)> <([0-9a-f]+)>\]/.exec(text);
    expect(id).not.toBeNull();
    expect(id![1]).toBe(id![2]);
    expect(dateObjects(april.parts[0].body.toString('latin1'))).toEqual([
      'D:20250415080000Z',
      'D:20250415080000Z',
    ]);
    expect(april.parts[0].body.toString('latin1')).not.toContain(`<${id![1]}>`);
    expect(april.contentHash).not.toBe(march.contentHash);
  });

  it('embeds DejaVu and renders Polish, Romanian and euro characters', async () => {
    const renderer = createRenderer();
    // Romanian writes euro amounts as "1.234,50 EUR", so that customer gets the euro sign from the title.
    const version = demoVersion('ver_euro', {
      print: { ...demoVersion().content.print!, title: 'Sumă: {{money data.amount "EUR"}} / €' },
    });
    for (const customer of [LUKASZ, STEFAN]) {
      const result = await renderer.render(version, 'PRINT', snapshot(customer, DATA));
      const pdf = result.parts[0].body;
      const text = pdf.toString('latin1');
      expect(text).toContain('/FontFile2');
      expect(text).toMatch(/\/BaseFont \/[A-Z]{6}\+DejaVuSans\b/);
      expect(text).toMatch(/\/BaseFont \/[A-Z]{6}\+DejaVuSans-Bold\b/);
      expect(text).not.toContain('Helvetica');
      for (const ch of [...customer.name.replace(/\s/g, ''), '€']) {
        expect({ ch, mapped: pdfMapsCharacter(pdf, ch) }).toEqual({ ch, mapped: true });
      }
      // One A4 page.
      expect(text).toContain('/MediaBox [0 0 595.28 841.89]');
      expect(text.match(/\/Type \/Page\b/g)).toHaveLength(1);
    }
  });

  it('gives the same bytes whether the fonts are shared parsed objects or raw Buffers', async () => {
    expect(printFonts().preparsed).toBe(true);
    const letter: PrintLetter = {
      brand: BRANDS.contoso,
      recipient: { id: STEFAN.id, name: STEFAN.name, address: STEFAN.address },
      issuedAt: new Date('2025-03-01T00:00:00Z'),
      issuedLabel: '1 martie 2025',
      caseRef: { id: 'case_1', title: 'Disputed payment' },
      title: 'Ștefan — €1.234,50',
      blocks: [
        { kind: 'heading', text: 'Łódź' },
        { kind: 'paragraph', text: 'Zażółć gęślą jaźń. '.repeat(20) },
        { kind: 'table', rows: [['Sumă', '1.234,50 €']] },
        { kind: 'signature', text: 'Contoso Bank' },
      ],
    };
    const buffers = fontBuffers();
    const shared = await renderLetterPdf(letter, printFonts());
    const raw = await renderLetterPdf(letter, { ...buffers, preparsed: false });
    expect(shared.equals(raw)).toBe(true);
  });

  it('does not depend on what the process rendered before', async () => {
    // Subsetting "Ż" caches its component glyph "Z" without a character, in fontkit.
    const base: PrintLetter = {
      brand: BRANDS.northwind,
      recipient: { id: LUKASZ.id, name: 'Zed', address: null },
      issuedAt: new Date('2025-03-01T00:00:00Z'),
      issuedLabel: '1 March 2025',
      caseRef: null,
      title: 'Zed',
      blocks: [{ kind: 'paragraph', text: 'Zebra Zulu' }],
    };
    const before = await renderLetterPdf(base, printFonts());
    await renderLetterPdf({ ...base, title: 'Żółć Źdźbło Ăă Ș', blocks: [] }, printFonts());
    const after = await renderLetterPdf(base, printFonts());
    const raw = await renderLetterPdf(base, { ...fontBuffers(), preparsed: false });
    expect(after.equals(before)).toBe(true);
    expect(after.equals(raw)).toBe(true);
    expect(pdfMapsCharacter(after, 'Z')).toBe(true);
  });

  it('reuses shaped words across letters without changing any letter', async () => {
    // The shared fonts remember each word's layout from earlier letters (fonts.ts); a word's
    // glyphs may have been first looked up for other characters (space and no-break space share
    // a glyph; "Ż" subsets "Z" with none), so the same words in another order must still give
    // the bytes of a fresh parse.
    const letter = (name: string, title: string, paragraph: string): PrintLetter => ({
      brand: BRANDS.contoso,
      recipient: { id: LUKASZ.id, name, address: null },
      issuedAt: new Date('2025-03-01T00:00:00Z'),
      issuedLabel: '1\u00a0marca 2025',
      caseRef: null,
      title,
      blocks: [
        { kind: 'paragraph', text: paragraph },
        { kind: 'table', rows: [['Saldo', '1\u00a0834,55 zł']] },
      ],
    });
    const letters = [
      letter('Zed Zulu', 'Zebra office', 'Zebra Zulu 1 834,55 zł office'),
      letter('Łukasz Żółć', 'Żółć Zebra', 'Zulu Zebra Żabka office\u00a0fi'),
      letter('Zoë Ångström', 'Zebra office', 'Ångström Zulu Zebra 1\u00a0834,55 zł'),
    ];
    for (const order of [
      [0, 1, 2, 0, 1, 2],
      [2, 1, 0, 2, 0, 1],
    ]) {
      for (const i of order) {
        const shared = await renderLetterPdf(letters[i]!, printFonts());
        const raw = await renderLetterPdf(letters[i]!, { ...fontBuffers(), preparsed: false });
        expect(shared.equals(raw)).toBe(true);
      }
    }
  });

  it('continues onto further pages, each with the footer and page number', async () => {
    const renderer = createRenderer();
    const long = demoVersion('ver_long', {
      print: {
        title: 'Long letter',
        blocks: Array.from({ length: 40 }, () => ({
          kind: 'paragraph' as const,
          text: 'Lorem ipsum dolor sit amet. '.repeat(8),
        })),
      },
    });
    const pdf = (await renderer.render(long, 'PRINT', snapshot(MARGARET, DATA))).parts[0].body.toString(
      'latin1',
    );
    const pages = pdf.match(/\/Type \/Page\b/g)?.length ?? 0;
    expect(pages).toBeGreaterThan(1);
  });

  it('prints a letter to a customer without a postal address (the outbox refuses to post it)', async () => {
    const result = await createRenderer().render(
      demoVersion(),
      'PRINT',
      snapshot({ ...LUKASZ, address: null }, DATA),
    );
    expect(result.parts[0].body.subarray(0, 5).toString()).toBe('%PDF-');
  });
});

describe('EMAIL', () => {
  it('renders subject, text and MJML-built HTML', async () => {
    const result = await createRenderer().render(demoVersion(), 'EMAIL', snapshot(LUKASZ, DATA));
    expect(result.mediaType).toBe('multipart/alternative');
    expect(result.parts.map((p) => [p.name, p.mediaType])).toEqual([
      ['body.html', 'text/html'],
      ['body.txt', 'text/plain'],
      ['subject.txt', 'text/plain'],
    ]);
    expect(partText(result.parts, 'subject.txt')).toBe('Hello Łukasz Żółć');
    expect(partText(result.parts, 'body.txt')).toBe('Dear Łukasz Żółć, you owe 1234,50\u00a0€.\n');
    const html = partText(result.parts, 'body.html');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('Dear Łukasz Żółć, you owe 1234,50\u00a0€.');
    // The Handlebars-valued attribute survived mjml and was filled in.
    expect(html).toContain(`bgcolor="${BRANDS.northwind.primaryColour}"`);
    expect(html).not.toContain('{{');
    expect(result.contentHash).toBe(contentHashOf(result.parts));
  });

  it('HTML-escapes customer values in the HTML part but not in the text part', async () => {
    const evil = { ...LUKASZ, name: '<script>alert("x")</script>' };
    const result = await createRenderer().render(
      demoVersion(),
      'EMAIL',
      snapshot(evil, { ...DATA, note: '<img src=x onerror=alert(1)>' }),
    );
    const html = partText(result.parts, 'body.html');
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(partText(result.parts, 'body.txt')).toContain('<script>alert("x")</script>');
  });

  it('keeps the subject on one line whatever the data holds', async () => {
    const result = await createRenderer().render(
      demoVersion('ver_subject', { subject: 'Re: {{data.note}}' }),
      'EMAIL',
      snapshot(LUKASZ, { ...DATA, note: 'first\r\nBcc: victim@example.com\n\tthird' }),
    );
    expect(partText(result.parts, 'subject.txt')).toBe('Re: first Bcc: victim@example.com third');
  });

  it('turns MJML errors into TemplateError', async () => {
    const renderer = createRenderer();
    const bad = demoVersion('ver_bad_mjml', {
      mjml: '<mjml><mj-body><mj-sektion></mj-sektion></mj-body></mjml>',
    });
    await expect(renderer.render(bad, 'EMAIL', snapshot(LUKASZ, DATA))).rejects.toThrow(TemplateError);
    await expect(renderer.render(bad, 'EMAIL', snapshot(LUKASZ, DATA))).rejects.toThrow(/mj-sektion/);
    const notMjml = demoVersion('ver_not_mjml', { mjml: 'just some text' });
    await expect(renderer.render(notMjml, 'EMAIL', snapshot(LUKASZ, DATA))).rejects.toThrow(TemplateError);
    const random = demoVersion('ver_carousel', {
      mjml: '<mjml><mj-body><mj-section><mj-column><mj-carousel></mj-carousel></mj-column></mj-section></mj-body></mjml>',
    });
    await expect(renderer.render(random, 'EMAIL', snapshot(LUKASZ, DATA))).rejects.toThrow(
      /not reproducible/,
    );
  });
});

describe('WEB', () => {
  it('wraps the content in a branded page and escapes customer values', async () => {
    const evil = { ...STEFAN, name: '<script>alert(1)</script>' };
    const result = await createRenderer().render(demoVersion(), 'WEB', snapshot(evil, DATA));
    expect(result.mediaType).toBe('text/html');
    expect(result.parts.map((p) => p.name)).toEqual(['index.html']);
    const html = partText(result.parts, 'index.html');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('<html lang="ro-RO">');
    expect(html).toContain(BRANDS.contoso.logoText);
    expect(html).toContain(BRANDS.contoso.primaryColour);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
  });

  it('leaves a template that is already a whole document as it is', async () => {
    const version = demoVersion('ver_full_page', {
      html: '<!DOCTYPE html><html><body>{{customer.name}}</body></html>',
    });
    const result = await createRenderer().render(version, 'WEB', snapshot(LUKASZ, DATA));
    expect(partText(result.parts, 'index.html')).toBe('<!DOCTYPE html><html><body>Łukasz Żółć</body></html>');
  });
});

describe('MOBILE', () => {
  it('renders an SMS within 160 characters', async () => {
    const result = await createRenderer().render(demoVersion(), 'MOBILE', snapshot(LUKASZ, DATA));
    expect(result.mediaType).toBe('text/plain');
    expect(partText(result.parts, 'sms.txt')).toBe('Northwind Assurance: you owe 1234,50\u00a0€.');
  });

  it('rejects an SMS longer than 160 characters, counting code points', async () => {
    const renderer = createRenderer();
    const version = demoVersion('ver_sms', { sms: '{{data.note}}' });
    const exactly160 = '😀'.repeat(160);
    const ok = await renderer.render(version, 'MOBILE', snapshot(LUKASZ, { ...DATA, note: exactly160 }));
    expect(partText(ok.parts, 'sms.txt')).toBe(exactly160);
    await expect(
      renderer.render(version, 'MOBILE', snapshot(LUKASZ, { ...DATA, note: 'x'.repeat(161) })),
    ).rejects.toThrow(
      new TemplateError('template version ver_sms MOBILE: SMS is 161 characters; the limit is 160'),
    );
  });
});

describe('data validation', () => {
  it('names the missing and invalid fields', async () => {
    const renderer = createRenderer();
    const err = await renderer
      .render(demoVersion(), 'PRINT', snapshot(LUKASZ, { amount: 'lots' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingDataError);
    const missing = err as MissingDataError;
    expect(missing.missing).toEqual(expect.arrayContaining(['/currency', '/amount']));
    expect(missing.message).toContain('/currency is required');
    expect(missing.message).toContain('/amount must be number');
  });

  it('checks nested paths and JSON Schema 2020-12 features', async () => {
    const version: RenderableVersion = {
      id: 'ver_nested',
      content: { sms: '{{data.account.number}}' },
      dataSchema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        required: ['account'],
        properties: {
          account: { type: 'object', required: ['number'], properties: { number: { type: 'string' } } },
          when: { type: 'string', format: 'date' },
          items: { type: 'array', prefixItems: [{ type: 'string' }], items: false },
          contact: { type: 'string', format: 'email' },
        },
      },
    };
    const renderer = createRenderer();
    await expect(
      renderer.render(
        version,
        'MOBILE',
        snapshot(LUKASZ, { account: {}, when: '2025-02-30', items: ['a', 'b'], contact: 'nobody' }),
      ),
    ).rejects.toMatchObject({ missing: ['/account/number', '/when', '/items', '/contact'] });
    const ok = await renderer.render(
      version,
      'MOBILE',
      snapshot(LUKASZ, { account: { number: '42' }, when: '2025-02-28' }),
    );
    expect(partText(ok.parts, 'sms.txt')).toBe('42');
  });

  it('reports a broken data schema as a template fault', async () => {
    const version: RenderableVersion = {
      ...demoVersion('ver_bad_schema'),
      dataSchema: { type: 'object', properties: { a: { type: 'strnig' } } },
    };
    await expect(createRenderer().render(version, 'MOBILE', snapshot(LUKASZ, DATA))).rejects.toThrow(
      TemplateError,
    );
  });
});

describe('template faults', () => {
  const renderer = createRenderer();

  it.each([
    ['unclosed block', '{{#if data.amount}}open'],
    ['unknown helper', '{{shout data.amount}}'],
    ['bad money', '{{money "lots" "EUR"}}'],
    ['bad currency', '{{money data.amount "euro"}}'],
    ['bad date', '{{date "1 March"}}'],
    ['log helper removed', '{{log "hello"}}'],
  ])('%s => TemplateError', async (_name, sms) => {
    await expect(
      renderer.render(demoVersion(`ver_fault_${_name}`, { sms }), 'MOBILE', snapshot(LUKASZ, DATA)),
    ).rejects.toThrow(TemplateError);
  });

  it('refuses a channel the version has no content for', async () => {
    const version = demoVersion('ver_no_web', { html: undefined });
    await expect(renderer.render(version, 'WEB', snapshot(LUKASZ, DATA))).rejects.toThrow(
      new TemplateError('template version has no WEB content: WEB needs html (missing: html)'),
    );
  });

  it('refuses an unknown brand, including names on Object.prototype', async () => {
    for (const brand of ['acme', 'constructor', '__proto__']) {
      await expect(
        renderer.render(demoVersion(), 'MOBILE', snapshot({ ...LUKASZ, brand }, DATA)),
      ).rejects.toThrow(TemplateError);
    }
  });

  it('refuses an issuedAt that is not an ISO date with an offset', async () => {
    await expect(
      renderer.render(demoVersion(), 'PRINT', snapshot(LUKASZ, DATA, { issuedAt: '2025-03-01T09:30:00' })),
    ).rejects.toThrow(TemplateError);
  });

  it('accepts custom brands', async () => {
    const custom = createRenderer({
      brands: { acme: { ...BRANDS.contoso, id: 'acme', name: 'Acme Mutual' } },
    });
    const result = await custom.render(demoVersion(), 'MOBILE', snapshot({ ...LUKASZ, brand: 'acme' }, DATA));
    expect(partText(result.parts, 'sms.txt')).toBe('Acme Mutual: you owe 1234,50\u00a0€.');
  });
});

describe('prototype access from templates', () => {
  it.each([
    '{{constructor.constructor}}',
    '{{constructor}}',
    '{{__proto__}}',
    '{{data.__proto__}}',
    '{{#with constructor}}{{name}}{{/with}}',
    '{{lookup this "constructor"}}',
    '{{lookup (lookup this "constructor") "name"}}',
    '{{data.constructor.name}}',
    '{{customer.name.constructor}}',
    '{{#with "s"}}{{constructor.name}}{{/with}}',
    '{{__defineGetter__}}',
    '{{data.toString}}',
    '{{data.hasOwnProperty}}',
    '{{#each data.constructor}}{{this}}{{/each}}',
  ])('%s yields nothing', async (probe) => {
    const version = demoVersion(`ver_probe_${probe}`, { sms: `[${probe}]` });
    const result = await createRenderer().render(version, 'MOBILE', snapshot(LUKASZ, DATA));
    expect(partText(result.parts, 'sms.txt')).toBe('[]');
  });

  it('treats a "__proto__" key in the data as plain data and pollutes nothing', async () => {
    const data = JSON.parse('{"amount": 1, "currency": "EUR", "__proto__": {"polluted": "yes"}}') as Record<
      string,
      unknown
    >;
    const version = demoVersion('ver_proto_data', {
      sms: '[{{data.__proto__.polluted}}][{{polluted}}][{{data.polluted}}]',
    });
    const result = await createRenderer().render(version, 'MOBILE', snapshot(LUKASZ, data));
    // The JSON's own "__proto__" member is the caller's data, so it may be shown...
    expect(partText(result.parts, 'sms.txt')).toBe('[yes][][]');
    // ...but it never became anyone's prototype.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('helpers', () => {
  const renderer = createRenderer();
  const render = async (sms: string, locale: string, data: Record<string, unknown> = DATA) =>
    partText(
      (
        await renderer.render(
          demoVersion(`ver_helper_${sms}`, { sms }),
          'MOBILE',
          snapshot({ ...LUKASZ, locale }, data),
        )
      ).parts,
      'sms.txt',
    );

  it('formats money in the customer locale', async () => {
    expect(await render('{{money data.amount "EUR"}}', 'en-IE')).toBe('€1,234.50');
    expect(await render('{{money data.amount "GBP"}}', 'en-GB')).toBe('£1,234.50');
    expect(await render('{{money data.amount}}', 'de-DE')).toBe('1.234,50\u00a0€');
    // An unsupported or malformed locale falls back to en-GB, not to whatever the host uses.
    expect(await render('{{money data.amount "EUR"}}', 'xx-ZZ')).toBe('€1,234.50');
    expect(await render('{{money data.amount "EUR"}}', 'not a locale!')).toBe('€1,234.50');
  });

  it('formats dates in UTC, as ISO or long form', async () => {
    const data = { ...DATA, note: '2025-03-01T23:30:00-05:00' };
    expect(await render('{{date data.note}}', 'en-GB', data)).toBe('2025-03-02');
    expect(await render('{{date "2025-03-01" "long"}}', 'en-GB')).toBe('1 March 2025');
    expect(await render('{{date "2025-03-01" "long"}}', 'ro-RO')).toBe('1 martie 2025');
    expect(await render('{{date issuedAt}}', 'en-GB')).toBe('2025-03-01');
  });

  it('has upper, percent and eq', async () => {
    expect(await render('{{upper customer.name}}', 'pl-PL')).toBe('ŁUKASZ ŻÓŁĆ');
    expect(await render('{{percent 4.35}}', 'en-GB')).toBe('4.35%');
    expect(await render('{{#if (eq data.currency "EUR")}}euro{{else}}other{{/if}}', 'en-GB')).toBe('euro');
  });
});

describe('contentHashOf', () => {
  it('is SHA-256 over name, length and bytes of the parts in name order', () => {
    const parts = [
      { name: 'b.txt', mediaType: 'text/plain', body: Buffer.from('second') },
      { name: 'a.txt', mediaType: 'text/plain', body: Buffer.from('first') },
    ];
    const expected = createHash('sha256')
      .update('a.txt\u00005\u0000first')
      .update('b.txt\u00006\u0000second')
      .digest('hex');
    expect(contentHashOf(parts)).toBe(expected);
    expect(contentHashOf([...parts].reverse())).toBe(expected);
    // Moving a byte across the part boundary changes the hash.
    expect(
      contentHashOf([
        { name: 'a.txt', mediaType: 'text/plain', body: Buffer.from('firsts') },
        { name: 'b.txt', mediaType: 'text/plain', body: Buffer.from('econd') },
      ]),
    ).not.toBe(expected);
  });
});
