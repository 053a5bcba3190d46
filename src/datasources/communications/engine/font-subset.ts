import { Lru } from '../../../lru.js';

/**
 * Encoding each letter's font subset, without restructure, to the bytes fontkit writes.
 *
 * pdfkit embeds, per document and font, the TrueType subset fontkit's TTFSubset.encode returns
 * (uncompressed here: see renderLetterPdf). That encode writes a 9-table font through
 * restructure, value by value, including the tables it copies unchanged from the font (cvt,
 * prep, fpgm: about 1,800 values for DejaVu), and was a sixth of a statement's render. The file
 * it writes is a pure function of the font and of the subset's glyph ids in order:
 *
 * - head, cvt, prep, fpgm (and any other table it copies) do not depend on the glyphs;
 * - hhea and maxp are the font's, with only the glyph count changed (numberOfMetrics, numGlyphs);
 * - glyf is each glyph's bytes from the font in subset order (a composite's component ids
 *   renumbered), loca their offsets, hmtx their advance and left bearing;
 * - the table directory has no checksums (fontkit writes 0) and the tables follow it back to back.
 *
 * So one reference encode per font by fontkit itself gives the fixed tables' bytes and the
 * layout, and a subset is then written with plain DataView calls. The glyph walk (which glyphs,
 * in which order, with which bytes) stays fontkit's own `_addGlyph`. Before it is used for a
 * font, the fast encoder must give fontkit's bytes for a few probe subsets (composites included);
 * if anything differs (another fontkit version, another kind of font), it is not used.
 *
 * On top of that, the bytes of recent subsets are kept per font by their glyph ids: letters of one
 * template whose names use the same letters in the same order embed the same subset.
 */

/** fontkit's TrueType subset (TTFSubset), as far as the encoder reads and writes it. Library seam. */
export interface TrueTypeSubset {
  font: object;
  glyphs: number[];
  glyf: Uint8Array[];
  offset: number;
  loca: { offsets: number[]; version: number };
  hmtx: { metrics: Array<{ advance: number; bearing: number }>; bearings: number[] };
  _addGlyph(gid: number): number;
  includeGlyph(gid: number): number;
  encode(): Uint8Array;
}

/** What a fontkit font must offer for its subsets to be encoded here. */
export interface SubsettableFont {
  createSubset(): unknown;
  glyphForCodePoint(codePoint: number): { id: number } | null;
  loca: { version: number };
  _variationProcessor?: unknown;
}

function isSubsettableFont(value: object): value is SubsettableFont {
  const font = value as Partial<SubsettableFont>;
  return (
    typeof font.createSubset === 'function' &&
    typeof font.glyphForCodePoint === 'function' &&
    typeof font.loca === 'object' &&
    font.loca !== null &&
    typeof font.loca.version === 'number'
  );
}

interface SubsetLayout {
  /** Tables in file order; `bytes` for the ones that do not depend on the glyphs. */
  tables: Array<{ tag: string; bytes: Uint8Array | null }>;
  /** The font's hhea and maxp as fontkit writes them (glyph counts to be replaced). */
  hhea: Uint8Array;
  maxp: Uint8Array;
  longLoca: boolean;
}

/** The tables TTFSubset builds from the glyphs; every other table it writes is copied from the font. */
const PER_SUBSET = new Set(['hhea', 'maxp', 'loca', 'glyf', 'hmtx']);
/** Offsets of the glyph counts inside hhea (numberOfMetrics) and maxp (numGlyphs), by the OpenType spec. */
const HHEA_NUMBER_OF_METRICS = 34;
const MAXP_NUM_GLYPHS = 4;

/** Recent subsets' bytes per font and thread, by glyph ids in order: 32 × about 25 KiB per font. */
const MAX_CACHED_SUBSETS = 32;

const layouts = new WeakMap<object, SubsetLayout>();
const encodedSubsets = new WeakMap<object, Lru<string, Uint8Array>>();

function isTrueTypeSubset(value: unknown): value is TrueTypeSubset {
  const subset = value as Partial<TrueTypeSubset> | null;
  return (
    typeof subset === 'object' &&
    subset !== null &&
    Array.isArray(subset.glyphs) &&
    typeof subset._addGlyph === 'function' &&
    typeof subset.includeGlyph === 'function' &&
    typeof subset.encode === 'function' &&
    // A CFF subset (CFFSubset) has `cff`; those keep fontkit's encoder.
    !('cff' in subset)
  );
}

/** Reads the table directory of a file fontkit wrote; null unless it is laid out as described above. */
function layoutOf(file: Uint8Array, longLoca: boolean): SubsetLayout | null {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.byteLength < 12) return null;
  const count = view.getUint16(4);
  let expected = 12 + 16 * count;
  const tables: SubsetLayout['tables'] = [];
  let hhea: Uint8Array | null = null;
  let maxp: Uint8Array | null = null;
  for (let i = 0; i < count; i++) {
    const entry = 12 + 16 * i;
    const tag = String.fromCharCode(...file.subarray(entry, entry + 4));
    const checkSum = view.getUint32(entry + 4);
    const offset = view.getUint32(entry + 8);
    const length = view.getUint32(entry + 12);
    if (checkSum !== 0 || offset !== expected || offset + length > file.byteLength) return null;
    const bytes = file.slice(offset, offset + length);
    if (tag === 'hhea') hhea = bytes;
    if (tag === 'maxp') maxp = bytes;
    tables.push({ tag, bytes: PER_SUBSET.has(tag) ? null : bytes });
    expected += length;
  }
  if (expected !== file.byteLength) return null;
  if (![...PER_SUBSET].every((tag) => tables.some((t) => t.tag === tag))) return null;
  if (
    !hhea ||
    hhea.byteLength !== HHEA_NUMBER_OF_METRICS + 2 ||
    !maxp ||
    maxp.byteLength < MAXP_NUM_GLYPHS + 2
  )
    return null;
  return { tables, hhea, maxp, longLoca };
}

/**
 * What fontkit's _addGlyph appends for one glyph of a font, kept per font and glyph id: its glyf
 * bytes, advance and left bearing depend on the id alone (the font has no variations: see
 * shareSubsetEncoding), and a composite's bytes differ between subsets only in its components'
 * ids, which are renumbered per subset at `pos`, as _addGlyph does.
 */
interface GlyphEntry {
  bytes: Uint8Array;
  components: Array<{ glyphID: number; pos: number }> | null;
  advance: number;
  bearing: number;
}

/** The glyph as _addGlyph reads it. Library seam: fontkit's TTFGlyph. */
interface DecodableGlyph {
  _decode(): { numberOfContours: number; components?: Array<{ glyphID: number; pos: number }> } | null;
}

const glyphEntries = new WeakMap<object, Map<number, GlyphEntry>>();

/**
 * fontkit's _addGlyph for `gid`, from the entry of an earlier subset when there is one. The first
 * time a glyph is met, fontkit's own _addGlyph runs and what it appended is kept. It is a sixth
 * of the walk's cost: no glyph object, outline decoding or table stream per glyph and letter.
 * The glyph objects fontkit would create are not created: nothing reads them after the subset
 * is encoded (see encodeSharedSubset).
 */
function addGlyph(subset: TrueTypeSubset, entries: Map<number, GlyphEntry>, gid: number): void {
  const known = entries.get(gid);
  if (!known) {
    const index = subset._addGlyph(gid);
    const glyph = (subset.font as { getGlyph(id: number): DecodableGlyph }).getGlyph(gid);
    const decoded = glyph._decode();
    const metrics = subset.hmtx.metrics[index]!;
    entries.set(gid, {
      bytes: subset.glyf[index]!,
      components:
        decoded && decoded.numberOfContours < 0
          ? (decoded.components ?? []).map(({ glyphID, pos }) => ({ glyphID, pos }))
          : null,
      advance: metrics.advance,
      bearing: metrics.bearing,
    });
    return;
  }
  let bytes = known.bytes;
  if (known.components) {
    bytes = bytes.slice();
    const view = new DataView(bytes.buffer);
    for (const component of known.components)
      view.setUint16(component.pos, subset.includeGlyph(component.glyphID));
  }
  subset.glyf.push(bytes);
  subset.loca.offsets.push(subset.offset);
  subset.hmtx.metrics.push({ advance: known.advance, bearing: known.bearing });
  subset.offset += bytes.length;
}

/** fontkit's TTFSubset.encode up to its last line: the glyph walk that fills glyf, loca and hmtx. */
function walkGlyphs(subset: TrueTypeSubset, locaVersion: number): void {
  subset.glyf = [];
  subset.offset = 0;
  subset.loca = { offsets: [], version: locaVersion };
  subset.hmtx = { metrics: [], bearings: [] };
  let entries = glyphEntries.get(subset.font);
  if (!entries) glyphEntries.set(subset.font, (entries = new Map()));
  // Components of composite glyphs are appended to `glyphs` as the walk goes.
  for (let i = 0; i < subset.glyphs.length; i++) addGlyph(subset, entries, subset.glyphs[i]!);
  subset.loca.offsets.push(subset.offset);
}

/** The last line of fontkit's encode, restructure's Directory.toBuffer, for a walked subset. */
function writeFile(subset: TrueTypeSubset, layout: SubsetLayout): Uint8Array {
  const glyphCount = subset.glyf.length;
  const metrics = subset.hmtx.metrics;
  const offsets = subset.loca.offsets;
  const lengths = layout.tables.map(({ tag, bytes }) => {
    switch (tag) {
      case 'loca':
        return offsets.length * (layout.longLoca ? 4 : 2);
      case 'glyf':
        return subset.offset;
      case 'hmtx':
        return metrics.length * 4 + subset.hmtx.bearings.length * 2;
      default:
        return bytes ? bytes.byteLength : tag === 'hhea' ? layout.hhea.byteLength : layout.maxp.byteLength;
    }
  });
  const count = layout.tables.length;
  const size = 12 + 16 * count + lengths.reduce((a, b) => a + b, 0);
  const file = new Uint8Array(size);
  const view = new DataView(file.buffer);
  // Directory header: sfnt version 'true' (as fontkit writes it), then the binary-search fields.
  file.set([0x74, 0x72, 0x75, 0x65], 0);
  view.setUint16(4, count);
  const power = 2 ** Math.floor(Math.log(count) / Math.LN2);
  view.setUint16(6, power * 16);
  view.setUint16(8, Math.log(power) / Math.LN2);
  view.setUint16(10, count * 16 - power * 16);
  let at = 12 + 16 * count;
  layout.tables.forEach(({ tag, bytes }, i) => {
    const entry = 12 + 16 * i;
    for (let c = 0; c < 4; c++) file[entry + c] = tag.charCodeAt(c);
    view.setUint32(entry + 8, at);
    view.setUint32(entry + 12, lengths[i]!);
    switch (tag) {
      case 'hhea':
        file.set(layout.hhea, at);
        view.setUint16(at + HHEA_NUMBER_OF_METRICS, metrics.length);
        break;
      case 'maxp':
        file.set(layout.maxp, at);
        view.setUint16(at + MAXP_NUM_GLYPHS, glyphCount);
        break;
      case 'loca':
        for (let g = 0; g < offsets.length; g++) {
          // Short loca stores offset / 2, as fontkit's loca.preEncode does.
          if (layout.longLoca) view.setUint32(at + 4 * g, offsets[g]!);
          else view.setUint16(at + 2 * g, offsets[g]! >>> 1);
        }
        break;
      case 'glyf': {
        let p = at;
        for (const glyph of subset.glyf) {
          file.set(glyph, p);
          p += glyph.byteLength;
        }
        break;
      }
      case 'hmtx': {
        let p = at;
        for (const { advance, bearing } of metrics) {
          view.setUint16(p, advance);
          view.setInt16(p + 2, bearing);
          p += 4;
        }
        for (const bearing of subset.hmtx.bearings) {
          view.setInt16(p, bearing);
          p += 2;
        }
        break;
      }
      default:
        file.set(bytes!, at);
    }
    at += lengths[i]!;
  });
  return file;
}

/** A fresh TTFSubset of `font` holding `glyphs` (glyph 0 comes first by itself). */
function subsetOf(font: SubsettableFont, glyphs: number[]): TrueTypeSubset | null {
  const subset = font.createSubset();
  if (!isTrueTypeSubset(subset)) return null;
  for (const id of glyphs) subset.includeGlyph(id);
  return subset;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}

/**
 * Checks the fast encoder against fontkit's own on subsets of the characters of each of `probes`
 * (composite glyphs among them) and, when it agrees on all of them, makes it the encoder of the
 * subsets `font` creates from now on. Returns whether it did. Call before any document uses the
 * font: the probes' glyph lookups fill fontkit's glyph cache, which resetSharedGlyphs clears at
 * the start of every document. Library seam: an instance property over fontkit's createSubset.
 */
export function shareSubsetEncoding(font: object, probes: string[]): boolean {
  if (!isSubsettableFont(font) || font._variationProcessor != null || probes.length === 0) return false;
  const longLoca = font.loca.version !== 0;
  let layout: SubsetLayout | null = null;
  for (const text of probes) {
    const ids = [...text].map((ch) => font.glyphForCodePoint(ch.codePointAt(0)!)?.id ?? 0);
    const reference = subsetOf(font, ids);
    const fast = subsetOf(font, ids);
    if (!reference || !fast) return false;
    const expected = reference.encode();
    layout ??= layoutOf(expected, longLoca);
    if (!layout) return false;
    walkGlyphs(fast, font.loca.version);
    if (!sameBytes(writeFile(fast, layout), expected)) return false;
  }
  layouts.set(font, layout!);
  encodedSubsets.set(font, new Lru(MAX_CACHED_SUBSETS));
  const createSubset = font.createSubset;
  font.createSubset = function (this: SubsettableFont) {
    const subset = createSubset.call(this);
    if (isTrueTypeSubset(subset)) {
      const encode = subset.encode;
      subset.encode = function (this: TrueTypeSubset) {
        return encodeSharedSubset(this) ?? encode.call(this);
      };
    }
    return subset;
  };
  return true;
}

/**
 * The subset's file, as fontkit's TTFSubset.encode would write it, for a font that passed
 * shareSubsetEncoding; null for any other (the caller then uses fontkit's encode).
 *
 * A cached file is returned without walking the glyphs, so the subset's `glyphs` does not gain
 * the composites' components and fontkit's glyph cache does not gain their glyphs. pdfkit embeds
 * a font when the document ends and reads neither afterwards, and the next document starts with
 * an empty glyph cache (resetSharedGlyphs).
 */
function encodeSharedSubset(subset: unknown): Uint8Array | null {
  if (!isTrueTypeSubset(subset)) return null;
  const layout = layouts.get(subset.font);
  const cache = encodedSubsets.get(subset.font);
  if (!layout || !cache) return null;
  const key = subset.glyphs.join(',');
  const cached = cache.get(key);
  // A copy each time: the caller owns what encode returns.
  if (cached) return cached.slice();
  walkGlyphs(subset, (subset.font as SubsettableFont).loca.version);
  const file = writeFile(subset, layout);
  cache.set(key, file.slice());
  return file;
}
