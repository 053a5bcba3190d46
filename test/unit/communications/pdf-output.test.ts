import PDFDocument from 'pdfkit';
import {
  collectOutput,
  shareStreamWriting,
} from '../../../src/datasources/communications/engine/pdf-output.js';

type DocumentClass = typeof PDFDocument;

/** A document touching what a letter writes: text in two fonts, rules, colours, an info dictionary. */
function draw(Document: DocumentClass): PDFKit.PDFDocument {
  const doc = new Document({
    size: 'A4',
    compress: false,
    bufferPages: true,
    info: {
      Title: 'Łódź — statement',
      Author: 'Contoso',
      CreationDate: new Date('2025-03-01T09:30:00Z'),
      ModDate: new Date('2025-03-01T09:30:00Z'),
    },
  });
  doc.rect(0, 0, 595.28, 8).fill('#0B5CAD');
  doc.font('Helvetica-Bold').fontSize(18).fillColor('#0B5CAD').text('Contoso Bank', 62, 48);
  doc.font('Helvetica').fontSize(10.5).fillColor('#1A1A1A');
  doc.text('Account statement (1 234,50 EUR)\n'.repeat(40), { width: 470, lineGap: 2 });
  doc.moveTo(62, 700).lineTo(533, 700).lineWidth(0.5).stroke('#D9D9D9');
  return doc;
}

/** The bytes pdfkit itself gives, through its Readable stream. */
function streamed(doc: PDFKit.PDFDocument): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    doc.end();
  });
}

describe('PDF output', () => {
  it("encodes every UTF-16 code unit as pdfkit's fromBinaryString does (its low byte)", () => {
    const units = Array.from({ length: 0x10000 }, (_, i) => String.fromCharCode(i)).join('');
    const expected = Uint8Array.from({ length: 0x10000 }, (_, i) => i & 0xff);
    expect(Buffer.from(units, 'latin1').equals(expected)).toBe(true);
  });

  it('gives the bytes of an unpatched pdfkit, gathered or streamed', async () => {
    // A copy of pdfkit loaded before shareStreamWriting patches the one this module shares.
    let Pristine: DocumentClass | undefined;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a second, unpatched copy of pdfkit
      const loaded = require('pdfkit') as DocumentClass | { default: DocumentClass };
      Pristine = 'default' in loaded ? loaded.default : loaded;
    });
    expect(Pristine).toBeDefined();
    expect(Pristine).not.toBe(PDFDocument);
    const expected = await streamed(draw(Pristine!));

    expect(shareStreamWriting()).toBe(true);
    expect((await streamed(draw(PDFDocument))).equals(expected)).toBe(true);

    const doc = draw(PDFDocument);
    const chunks: Uint8Array[] = [];
    expect(collectOutput(doc, chunks)).toBe(true);
    const gathered = await new Promise<Buffer>((resolve) => {
      doc.on('end', () => resolve(Buffer.concat(chunks)));
      doc.resume();
      doc.end();
    });
    expect(gathered.equals(expected)).toBe(true);
    expect(gathered.subarray(0, 8).toString('latin1')).toBe('%PDF-1.3');
  });
});
