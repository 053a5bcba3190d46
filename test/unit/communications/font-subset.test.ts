import PDFDocument from 'pdfkit';
import {
  fontBuffers,
  printFonts,
  resetSharedGlyphs,
} from '../../../src/datasources/communications/engine/fonts.js';

/** The part of a fontkit font and its subsets this test drives. */
interface Font {
  numGlyphs: number;
  createSubset(): { includeGlyph(id: number): number; encode(): Uint8Array };
  getGlyph(id: number): { _decode(): { numberOfContours: number } | null } | null;
}

/** A font as fontkit parses it for pdfkit, with none of our sharing: the reference encoder. */
function freshParse(buffer: Buffer): Font {
  const doc = new PDFDocument({ autoFirstPage: false });
  doc.font(buffer);
  return (doc as unknown as { _font: { font: Font } })._font.font;
}

/** A small seeded generator (mulberry32), so a failure names a list that reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function encoded(font: Font, ids: number[]): Buffer {
  const subset = font.createSubset();
  for (const id of ids) subset.includeGlyph(id);
  return Buffer.from(subset.encode());
}

describe('PRINT font subsets', () => {
  afterEach(() => resetSharedGlyphs(printFonts()));

  it.each(['regular', 'bold'] as const)(
    'encodes a %s subset to the bytes fontkit writes, for any glyphs in any order, again and again',
    (which) => {
      const fonts = printFonts();
      expect(fonts.preparsed).toBe(true);
      const shared = fonts[which] as unknown as Font;
      // The shared font encodes its subsets itself (font-subset.ts); otherwise this compares fontkit with fontkit.
      expect(Object.prototype.hasOwnProperty.call(shared, 'createSubset')).toBe(true);
      const reference = freshParse(fontBuffers()[which]);
      const next = random(which === 'regular' ? 13 : 31);
      const composites: number[] = [];
      for (let id = 1; id < reference.numGlyphs && composites.length < 40; id += 7) {
        if ((reference.getGlyph(id)?._decode()?.numberOfContours ?? 0) < 0) composites.push(id);
      }
      expect(composites.length).toBeGreaterThan(10);
      const lists: number[][] = [[], [0], composites, [...composites].reverse()];
      for (let i = 0; i < 30; i++) {
        const length = 1 + Math.floor(next() * 120);
        lists.push(
          Array.from({ length }, () =>
            next() < 0.3
              ? composites[Math.floor(next() * composites.length)]!
              : Math.floor(next() * reference.numGlyphs),
          ),
        );
      }
      // Each list twice: the second time the shared font's bytes come from its cache of recent subsets.
      for (const ids of [...lists, ...lists]) {
        expect(encoded(shared, ids).equals(encoded(reference, ids))).toBe(true);
      }
    },
  );
});
