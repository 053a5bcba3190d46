import PDFDocument from 'pdfkit';
import { TemplateError } from './errors.js';
import { resetSharedGlyphs, type PrintFonts } from './fonts.js';
import { postalCountry } from './format.js';
import { collectOutput, shareStreamWriting } from './pdf-output.js';
import type { Brand, PostalAddress } from './types.js';

export type RenderedPrintBlock =
  | { kind: 'heading'; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'table'; rows: Array<[string, string]> }
  | { kind: 'signature'; text: string };

export interface PrintLetter {
  brand: Brand;
  recipient: { id: string; name: string; address: PostalAddress | null };
  /** The instant of issue: printed on the letter and written as the PDF's dates. */
  issuedAt: Date;
  issuedLabel: string;
  caseRef: { id: string; title: string } | null;
  title: string;
  blocks: RenderedPrintBlock[];
}

const A4: [number, number] = [595.28, 841.89];
const MARGIN = { top: 48, bottom: 84, left: 62, right: 62 };
const CONTENT_WIDTH = A4[0] - MARGIN.left - MARGIN.right;
const GREY = '#555555';
const TEXT = '#1A1A1A';
const RULE = '#D9D9D9';
const REGULAR = 'CG-Regular';
const BOLD = 'CG-Bold';

function addressLines(name: string, address: PostalAddress | null): string[] {
  if (!address) return [name];
  return [
    name,
    address.line1,
    address.line2 ?? '',
    `${address.city} ${address.postcode}`.trim(),
    postalCountry(address.country),
  ].filter((line) => line.trim() !== '');
}

function drawHeader(doc: PDFKit.PDFDocument, letter: PrintLetter): void {
  const { brand } = letter;
  doc.rect(0, 0, A4[0], 8).fill(brand.primaryColour);
  doc.font(BOLD).fontSize(18).fillColor(brand.primaryColour);
  doc.text(brand.logoText, MARGIN.left, MARGIN.top, { width: CONTENT_WIDTH * 0.6, lineBreak: false });
  doc.font(REGULAR).fontSize(8.5).fillColor(GREY);
  doc.text(`${brand.senderName}\n${brand.senderEmail}`, MARGIN.left + CONTENT_WIDTH * 0.5, MARGIN.top, {
    width: CONTENT_WIDTH * 0.5,
    align: 'right',
  });
  const ruleY = MARGIN.top + 34;
  doc
    .moveTo(MARGIN.left, ruleY)
    .lineTo(A4[0] - MARGIN.right, ruleY)
    .lineWidth(1)
    .stroke(brand.primaryColour);
}

function drawAddressAndReferences(doc: PDFKit.PDFDocument, letter: PrintLetter): void {
  // Where a DL window envelope shows the address.
  const top = 128;
  doc.font(REGULAR).fontSize(10.5).fillColor(TEXT);
  doc.text(addressLines(letter.recipient.name, letter.recipient.address).join('\n'), MARGIN.left, top, {
    width: CONTENT_WIDTH * 0.55,
  });
  const addressBottom = doc.y;

  const refs: Array<[string, string]> = [
    ['Date', letter.issuedLabel],
    ['Customer number', letter.recipient.id],
  ];
  if (letter.caseRef) refs.push(['Our reference', letter.caseRef.id]);
  const x = MARGIN.left + CONTENT_WIDTH * 0.6;
  const width = CONTENT_WIDTH * 0.4;
  doc.fontSize(9);
  let y = top;
  for (const [label, value] of refs) {
    doc.fillColor(GREY).text(`${label}: `, x, y, { width, continued: true }).fillColor(TEXT).text(value);
    y = doc.y + 2;
  }
  doc.y = Math.max(addressBottom, y, 236);
}

function ensureSpace(doc: PDFKit.PDFDocument, height: number): void {
  if (doc.y + height > A4[1] - MARGIN.bottom) {
    doc.addPage();
    doc.y = MARGIN.top + 20;
  }
}

function drawTable(doc: PDFKit.PDFDocument, rows: Array<[string, string]>): void {
  const labelWidth = CONTENT_WIDTH * 0.42;
  const valueX = MARGIN.left + labelWidth + 8;
  const valueWidth = CONTENT_WIDTH - labelWidth - 8;
  doc.fontSize(10);
  for (const [label, value] of rows) {
    doc.font(REGULAR);
    const height =
      Math.max(
        doc.heightOfString(label, { width: labelWidth }),
        doc.heightOfString(value || ' ', { width: valueWidth }),
      ) + 8;
    ensureSpace(doc, height);
    const y = doc.y + 4;
    doc.fillColor(GREY).text(label, MARGIN.left, y, { width: labelWidth });
    doc.font(BOLD).fillColor(TEXT).text(value, valueX, y, { width: valueWidth });
    const bottom = y + height - 4;
    doc
      .moveTo(MARGIN.left, bottom)
      .lineTo(A4[0] - MARGIN.right, bottom)
      .lineWidth(0.5)
      .stroke(RULE);
    doc.x = MARGIN.left;
    doc.y = bottom;
  }
  doc.font(REGULAR);
  doc.moveDown(0.8);
}

function drawBlocks(doc: PDFKit.PDFDocument, letter: PrintLetter): void {
  doc.font(BOLD).fontSize(15).fillColor(letter.brand.primaryColour);
  doc.text(letter.title, MARGIN.left, doc.y, { width: CONTENT_WIDTH });
  doc.moveDown(0.6);
  for (const block of letter.blocks) {
    switch (block.kind) {
      case 'heading':
        if (!block.text.trim()) break;
        ensureSpace(doc, 40);
        doc.moveDown(0.3);
        doc.font(BOLD).fontSize(11.5).fillColor(letter.brand.primaryColour);
        doc.text(block.text, MARGIN.left, doc.y, { width: CONTENT_WIDTH });
        doc.moveDown(0.3);
        break;
      case 'paragraph':
        if (!block.text.trim()) break;
        doc.font(REGULAR).fontSize(10.5).fillColor(TEXT);
        doc.text(block.text.trim(), MARGIN.left, doc.y, { width: CONTENT_WIDTH, lineGap: 2 });
        doc.moveDown(0.7);
        break;
      case 'table':
        drawTable(doc, block.rows);
        break;
      case 'signature':
        ensureSpace(doc, 60);
        doc.moveDown(0.8);
        doc.font(REGULAR).fontSize(10.5).fillColor(TEXT);
        doc.text(block.text.trim(), MARGIN.left, doc.y, { width: CONTENT_WIDTH, lineGap: 2 });
        break;
    }
  }
}

function drawFooters(doc: PDFKit.PDFDocument, brand: Brand): void {
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    // Writing inside the bottom margin would otherwise make pdfkit start a new page.
    const bottomMargin = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    const y = A4[1] - MARGIN.bottom + 22;
    doc
      .moveTo(MARGIN.left, y - 8)
      .lineTo(A4[0] - MARGIN.right, y - 8)
      .lineWidth(0.5)
      .stroke(RULE);
    doc.font(REGULAR).fontSize(7.5).fillColor(GREY);
    doc.text(brand.footer, MARGIN.left, y, { width: CONTENT_WIDTH * 0.82 });
    doc.text(`Page ${i - range.start + 1} of ${range.count}`, MARGIN.left + CONTENT_WIDTH * 0.82, y, {
      width: CONTENT_WIDTH * 0.18,
      align: 'right',
    });
    doc.page.margins.bottom = bottomMargin;
  }
}

/** The parts of a pdfkit document that aliasDefaultFont touches. Library seam. */
interface FontInternals {
  _font?: { font?: unknown } | null;
  _fontFamilies?: Record<string, unknown>;
}

/**
 * Makes `name` find the document's default font, already open, as pdfkit itself would end up.
 *
 * The default font is the regular one (see the `font` option below), opened without a name to
 * cache it under. Each later doc.font(REGULAR) then opens the font again, finds it equal to the
 * default by comparing the JSON of the two fonts' name tables (isEqualFont, a tenth of a
 * statement's render), uses the default and drops the new one, caching nothing, so the next call
 * does it all again. The dropped fonts write nothing (a font gets its PDF object when a page first
 * uses it), and the only font opened after them is the bold one, first used in drawHeader before
 * any doc.font(REGULAR), so its resource name is F2 with or without the alias. Library seam: if
 * pdfkit's fields are not there, nothing is aliased and pdfkit goes its own way.
 */
function aliasDefaultFont(doc: PDFKit.PDFDocument, name: string, source: unknown): void {
  const internals = doc as unknown as FontInternals;
  const families = internals._fontFamilies;
  const current = internals._font;
  if (typeof families === 'object' && families !== null && current?.font === source && !(name in families))
    families[name] = current;
}

/**
 * Lays out a branded A4 letter. The bytes depend only on `letter` and the fonts: pdfkit's
 * timestamps come from `issuedAt`, its trailer /ID is an MD5 of the info dictionary (so fixed by
 * the same values), and streams are left uncompressed so a zlib upgrade cannot change them.
 */
export function renderLetterPdf(letter: PrintLetter, fonts: PrintFonts): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let doc: PDFKit.PDFDocument;
    shareStreamWriting();
    // From here to doc.end() everything runs synchronously: see resetSharedGlyphs.
    resetSharedGlyphs(fonts);
    try {
      doc = new PDFDocument({
        size: A4,
        margins: MARGIN,
        compress: false,
        bufferPages: true,
        // Library seam: typed as a font name, but pdfkit opens whatever its font factory accepts;
        // naming our font here keeps it from loading Helvetica for every document.
        font: fonts.regular as unknown as string,
        info: {
          Title: letter.title,
          Author: letter.brand.name,
          Creator: 'CommsGraph',
          Producer: 'CommsGraph communications engine',
          CreationDate: letter.issuedAt,
          ModDate: letter.issuedAt,
        },
      });
    } catch (err) {
      reject(new TemplateError(`PRINT: ${(err as Error).message}`, { cause: err }));
      return;
    }
    const chunks: Uint8Array[] = [];
    if (collectOutput(doc, chunks)) doc.resume();
    else doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', (err: Error) => reject(new TemplateError(`PRINT: ${err.message}`, { cause: err })));
    try {
      doc.registerFont(REGULAR, fonts.regular);
      doc.registerFont(BOLD, fonts.bold);
      aliasDefaultFont(doc, REGULAR, fonts.regular);
      drawHeader(doc, letter);
      drawAddressAndReferences(doc, letter);
      drawBlocks(doc, letter);
      drawFooters(doc, letter.brand);
      doc.end();
    } catch (err) {
      reject(new TemplateError(`PRINT: ${(err as Error).message}`, { cause: err }));
    }
  });
}
