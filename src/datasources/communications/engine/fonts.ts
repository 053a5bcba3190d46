import fs from 'node:fs';
import path from 'node:path';
import PDFDocument from 'pdfkit';
import { shareSubsetEncoding } from './font-subset.js';

type FontSource = PDFKit.Mixins.PDFFontSource;

export interface PrintFonts {
  regular: FontSource;
  bold: FontSource;
  /** True when the fonts were parsed once for the whole process (see `preparse`, `resetSharedGlyphs`). */
  preparsed: boolean;
}

const REGULAR_FILE = 'DejaVuSans.ttf';
const BOLD_FILE = 'DejaVuSans-Bold.ttf';

function hasFonts(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'assets', 'fonts', REGULAR_FILE));
}

function walkUp(start: string): string | null {
  let dir = path.resolve(start);
  for (;;) {
    if (hasFonts(dir)) return path.join(dir, 'assets', 'fonts');
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/**
 * The fonts live at <repo>/assets/fonts, but this file runs from src/ under ts-jest and from
 * dist/src/ once compiled, so the depth differs; walk up instead of counting `..`. The working
 * directory is a second guess for bundled or relocated builds.
 */
export function findFontDir(): string {
  const dir = walkUp(__dirname) ?? walkUp(process.cwd());
  if (!dir) {
    // A deployment fault, not the template's: a plain Error, so no document is marked as a template failure.
    throw new Error(
      `PRINT fonts not found: no assets/fonts/${REGULAR_FILE} above ${__dirname} or ${process.cwd()}`,
    );
  }
  return dir;
}

/** A fontkit glyph as pdfkit reads it: its id and the characters it was first looked up for. */
interface GlyphLike {
  id: number;
  codePoints: number[];
}

/** The part of a fontkit font we touch: its per-glyph cache and the lookup that fills it. */
interface SharedFontkitFont {
  layout: (...args: unknown[]) => unknown;
  getGlyph: (id: number, characters?: number[]) => GlyphLike | null;
  _glyphs: Record<number, GlyphLike | undefined>;
}

function isSharableFont(value: unknown): value is SharedFontkitFont {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { layout?: unknown }).layout === 'function' &&
    typeof (value as { getGlyph?: unknown }).getGlyph === 'function' &&
    typeof (value as { _glyphs?: unknown })._glyphs === 'object' &&
    (value as { _glyphs?: unknown })._glyphs !== null
  );
}

/** What pdfkit's EmbeddedFont (one per document and font) returns for a run of text. */
interface LayoutRun {
  glyphs: GlyphLike[];
  positions: object[];
  advanceWidth: number;
}

type LayoutRunFn = (this: { font: unknown }, text: string, features?: unknown) => LayoutRun;

/**
 * One shaping of a run of text, and what it depended on. fontkit's layout (OpenType GSUB and
 * GPOS lookups, a third of a statement's render) is a pure function of the text and of the
 * characters each glyph it touches was first looked up for in this document (see
 * resetSharedGlyphs): `before` holds those (null: not yet looked up), `calls` the lookups the
 * layout made that created a glyph, in order. Where a later document's glyphs are in the same
 * state, a fresh layout would make the same lookups and return the same glyphs and positions, so
 * replaying the lookups leaves the glyph cache exactly as the layout would and the run is reused:
 * the same bytes.
 */
interface RecordedRun {
  /** `before` as two arrays: glyph ids, and each one's characters (null: not looked up yet). */
  beforeIds: number[];
  beforeCharacters: Array<number[] | null>;
  calls: Array<[number, number[]]>;
  glyphIds: number[];
  positions: object[];
  advanceWidth: number;
}

/** Runs of text remembered per font and thread; words like a customer number come once, so it is bounded. */
const MAX_RECORDED_TEXTS = 20_000;
const MAX_VARIANTS_PER_TEXT = 4;
const layoutCaches = new WeakMap<object, Map<string, RecordedRun[]>>();
/** Decoded glyf outlines per font and glyph id: read-only for a font without variations. */
const decodeCaches = new WeakMap<object, Map<number, unknown>>();
/**
 * Glyph metrics (advance, bearings, from hmtx and the outline's header) per font and glyph id.
 * fontkit computes them once per glyph object, that is once per glyph and letter since the glyph
 * cache is reset per letter; they depend on the id alone, and fontkit changes a glyph's metrics
 * object only for a font with variations, which is not registered here.
 */
const metricsCaches = new WeakMap<object, Map<number, unknown>>();

function sameCharacters(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Plain loops over arrays rather than Map iteration and closures: this runs for every word of
// every letter (it and its caller were the largest single item of a statement's profile).
function replayable(font: SharedFontkitFont, recorded: RecordedRun): boolean {
  const { beforeIds, beforeCharacters } = recorded;
  const glyphs = font._glyphs;
  for (let i = 0; i < beforeIds.length; i++) {
    const glyph = glyphs[beforeIds[i]!];
    const characters = beforeCharacters[i] ?? null;
    if (characters === null ? glyph !== undefined : !glyph || !sameCharacters(glyph.codePoints, characters))
      return false;
  }
  return true;
}

function replay(font: SharedFontkitFont, recorded: RecordedRun): LayoutRun {
  const { calls, glyphIds } = recorded;
  for (let i = 0; i < calls.length; i++) {
    const [id, characters] = calls[i]!;
    font.getGlyph(id, characters.slice());
  }
  const glyphs = font._glyphs;
  const run: GlyphLike[] = new Array<GlyphLike>(glyphIds.length);
  for (let i = 0; i < glyphIds.length; i++) run[i] = glyphs[glyphIds[i]!]!;
  return { glyphs: run, positions: recorded.positions, advanceWidth: recorded.advanceWidth };
}

function sharedLayoutRun(
  embedded: { font: unknown },
  font: SharedFontkitFont,
  cache: Map<string, RecordedRun[]>,
  text: string,
  layoutRun: LayoutRunFn,
): LayoutRun {
  const variants = cache.get(text);
  if (variants)
    for (let i = 0; i < variants.length; i++)
      if (replayable(font, variants[i]!)) return replay(font, variants[i]!);
  const before = new Map<number, number[] | null>();
  const calls: Array<[number, number[]]> = [];
  const lookup = font.getGlyph;
  // Every lookup the layout makes goes through the font's getGlyph: listen for the length of one run.
  font.getGlyph = function (this: SharedFontkitFont, id: number, characters: number[] = []) {
    if (!before.has(id)) {
      const glyph = font._glyphs[id];
      before.set(id, glyph ? [...glyph.codePoints] : null);
    }
    // A lookup of a glyph already cached returns it unchanged: only the ones that create a glyph
    // change the state, so only those are replayed (with the same state before, the same ones
    // find no glyph again).
    if (font._glyphs[id] === undefined) calls.push([id, [...characters]]);
    return lookup.call(this, id, characters);
  };
  let run: LayoutRun;
  try {
    run = layoutRun.call(embedded, text);
  } finally {
    delete (font as { getGlyph?: unknown }).getGlyph;
  }
  // Only a run whose every glyph is the cached one for its id can be rebuilt from ids.
  if (run.glyphs.every((glyph) => font._glyphs[glyph.id] === glyph)) {
    if (cache.size >= MAX_RECORDED_TEXTS) cache.clear();
    const list = variants ?? [];
    if (list.length < MAX_VARIANTS_PER_TEXT) {
      list.push({
        beforeIds: [...before.keys()],
        beforeCharacters: [...before.values()],
        calls,
        glyphIds: run.glyphs.map((glyph) => glyph.id),
        positions: run.positions,
        advanceWidth: run.advanceWidth,
      });
      cache.set(text, list);
    }
  }
  return run;
}

/** pdfkit's EmbeddedFont as its layout reads it: one per document and font. */
interface EmbeddedLike {
  font: unknown;
  layoutCache?: Record<string, LayoutRun> | null;
  layoutCached: (text: string) => LayoutRun;
}

type LayoutFn = (
  this: EmbeddedLike,
  text: string,
  features?: unknown,
  onlyWidth?: boolean,
) => { glyphs: GlyphLike[] | null; positions: object[] | null; advanceWidth: number };

/**
 * Widths of whole strings per EmbeddedFont, that is per document and font. Once a string has been
 * laid out in a document, each of its words is in pdfkit's per-document layout cache, so laying it
 * out again has no side effect and sums the same widths in the same order: the sum can be kept.
 * pdfkit measures most strings more than once (line wrapping measures each word, heightOfString
 * wraps a table cell before text() wraps it again).
 */
const widthMemos = new WeakMap<object, Map<string, number>>();

/**
 * pdfkit's EmbeddedFont.layout for a font shared here, step for step: the text is cut after each
 * space or tab, each piece goes through layoutCached in order, and the widths are added in the
 * same order, so the glyphs, positions and width are the same. pdfkit's own loop tests every
 * character with `[' ', '\t'].includes(text.charAt(i))` and concatenates the glyph and position
 * arrays piece by piece; this one compares char codes and appends.
 */
function sharedLayout(
  embedded: EmbeddedLike,
  text: string,
  onlyWidth: boolean,
): { glyphs: GlyphLike[] | null; positions: object[] | null; advanceWidth: number } {
  let memo: Map<string, number> | undefined;
  if (onlyWidth && embedded.layoutCache) {
    memo = widthMemos.get(embedded);
    if (!memo) widthMemos.set(embedded, (memo = new Map()));
    const width = memo.get(text);
    if (width !== undefined) return { glyphs: null, positions: null, advanceWidth: width };
  }
  const glyphs: GlyphLike[] | null = onlyWidth ? null : [];
  const positions: object[] | null = onlyWidth ? null : [];
  let advanceWidth = 0;
  let last = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length) {
      const code = text.charCodeAt(i);
      if (code !== 32 && code !== 9) continue;
    } else if (last >= i) break;
    const run = embedded.layoutCached(text.slice(last, i + 1));
    if (glyphs && positions) {
      for (let g = 0; g < run.glyphs.length; g++) glyphs.push(run.glyphs[g]!);
      for (let p = 0; p < run.positions.length; p++) positions.push(run.positions[p]!);
    }
    advanceWidth += run.advanceWidth;
    last = i + 1;
  }
  memo?.set(text, advanceWidth);
  return { glyphs, positions, advanceWidth };
}

const PATCHED = Symbol('commsgraph.sharedFonts');

/**
 * Teaches pdfkit's EmbeddedFont and fontkit's TrueType glyph to reuse, across documents, what
 * depends only on the font: shaped runs of text (sharedLayoutRun), decoded outlines (read by
 * subsetting to find a composite glyph's components) and glyph metrics. All only for fonts
 * registered in the caches above, that is the fonts parsed once here; any other font goes the
 * library's own way.
 * Library seam: all are private methods, checked for before patching; if they are missing,
 * nothing is patched and documents render as before, only slower.
 */
function shareAcrossDocuments(embeddedFont: unknown, font: SharedFontkitFont): void {
  const embeddedProto = Object.getPrototypeOf(embeddedFont) as Record<string | symbol, unknown> | null;
  const glyph0 = font.getGlyph(0);
  const glyphProto = glyph0 ? (Object.getPrototypeOf(glyph0) as Record<string | symbol, unknown>) : null;
  if (
    !embeddedProto ||
    typeof embeddedProto.layoutRun !== 'function' ||
    Object.prototype.hasOwnProperty.call(font, 'getGlyph') ||
    !glyphProto ||
    !Object.prototype.hasOwnProperty.call(glyphProto, '_decode') ||
    typeof glyphProto._decode !== 'function'
  )
    return;
  if (!embeddedProto[PATCHED]) {
    const layoutRun = embeddedProto.layoutRun as LayoutRunFn;
    embeddedProto.layoutRun = function (this: { font: unknown }, text: string, features?: unknown) {
      const cache = features ? undefined : layoutCaches.get(this.font as object);
      if (!cache) return layoutRun.call(this, text, features);
      return sharedLayoutRun(this, this.font as SharedFontkitFont, cache, text, layoutRun);
    };
    if (typeof embeddedProto.layout === 'function' && typeof embeddedProto.layoutCached === 'function') {
      const layout = embeddedProto.layout as LayoutFn;
      embeddedProto.layout = function (
        this: EmbeddedLike,
        text: string,
        features?: unknown,
        onlyWidth?: boolean,
      ) {
        if (features || typeof text !== 'string' || !layoutCaches.has(this.font as object))
          return layout.call(this, text, features, onlyWidth);
        return sharedLayout(this, text, onlyWidth === true);
      };
    }
    embeddedProto[PATCHED] = true;
  }
  if (!glyphProto[PATCHED]) {
    const decode = glyphProto._decode as (this: { _font: object; id: number }) => unknown;
    glyphProto._decode = function (this: { _font: object; id: number }) {
      const cache = decodeCaches.get(this._font);
      if (!cache) return decode.call(this);
      if (cache.has(this.id)) return cache.get(this.id);
      const decoded = decode.call(this);
      cache.set(this.id, decoded);
      return decoded;
    };
    // Metrics are only a saving: without fontkit's TrueType _getMetrics they are computed as before.
    if (
      Object.prototype.hasOwnProperty.call(glyphProto, '_getMetrics') &&
      typeof glyphProto._getMetrics === 'function'
    ) {
      type Metered = { _font: object; id: number; _metrics?: unknown };
      const getMetrics = glyphProto._getMetrics as (this: Metered) => unknown;
      glyphProto._getMetrics = function (this: Metered) {
        const cache = this._metrics ? undefined : metricsCaches.get(this._font);
        if (!cache) return getMetrics.call(this);
        let metrics = cache.get(this.id);
        if (metrics === undefined) {
          metrics = getMetrics.call(this);
          cache.set(this.id, metrics);
        }
        this._metrics = metrics;
        return metrics;
      };
    }
    glyphProto[PATCHED] = true;
  }
  layoutCaches.set(font, new Map());
  // A variable font's outlines depend on its instance settings: those decode every time.
  if ((font as { _variationProcessor?: unknown })._variationProcessor == null) {
    decodeCaches.set(font, new Map());
    metricsCaches.set(font, new Map());
  }
}

/**
 * Texts whose subsets must encode to fontkit's bytes before font-subset.ts encodes a font's
 * subsets: accented capitals that DejaVu builds from components, ligatures, other scripts,
 * and glyphs in an order unlike the font's.
 */
const SUBSET_PROBES = ['', 'Account statement Żółć: 1 234,50 €', 'ŻźĄęĂăȘșȚț ÅÖÜß ﬁ Ωλ № ½ — Zz 0'];

/**
 * Parsing DejaVu (about 700 kB with large OpenType tables) costs ~30 ms, ten times the rest of
 * a letter. pdfkit re-parses a Buffer for every document, but its font factory also accepts an
 * already-parsed fontkit font (anything with a `layout` method) and only reads from it, so we
 * parse once through pdfkit itself and share the result. This reaches into pdfkit's private
 * `_font`; if that ever changes we fall back to the Buffer, which is slower but identical in
 * output (the unit tests compare both paths' bytes).
 */
function preparse(buffer: Buffer): SharedFontkitFont | null {
  try {
    const scratch = new PDFDocument({ autoFirstPage: false });
    scratch.font(buffer);
    const embedded = (scratch as unknown as { _font?: { font?: unknown } })._font;
    const parsed: unknown = embedded?.font;
    if (isSharableFont(parsed)) {
      shareAcrossDocuments(embedded, parsed);
      shareSubsetEncoding(parsed, SUBSET_PROBES);
      // The probes' lookups, gone as at the start of every document.
      parsed._glyphs = {};
      return parsed;
    }
  } catch {
    // Fall through to the Buffer path.
  }
  return null;
}

/**
 * Gives a shared font the glyph state of a freshly parsed one. fontkit caches each glyph object
 * with the characters it was first looked up for; subsetting an accented capital such as "Ż"
 * looks up its component "Z" with none, and a later document using "Z" would then get no
 * ToUnicode entry for it (unsearchable text, and bytes that depend on what the process rendered
 * before). The parsed tables, the expensive part, stay shared. Call it at the start of each
 * document, and render the document synchronously from there to the end of subsetting so that
 * documents never interleave on the shared fonts.
 */
export function resetSharedGlyphs(fonts: PrintFonts): void {
  if (!fonts.preparsed) return;
  for (const font of [fonts.regular, fonts.bold] as unknown[]) {
    if (isSharableFont(font)) font._glyphs = {};
  }
}

let cached: PrintFonts | null = null;
let cachedBuffers: { regular: Buffer; bold: Buffer } | null = null;

export function fontBuffers(): { regular: Buffer; bold: Buffer } {
  if (!cachedBuffers) {
    const dir = findFontDir();
    cachedBuffers = {
      regular: fs.readFileSync(path.join(dir, REGULAR_FILE)),
      bold: fs.readFileSync(path.join(dir, BOLD_FILE)),
    };
  }
  return cachedBuffers;
}

/** Read and parse once per process; every document reuses the same objects. */
export function printFonts(): PrintFonts {
  if (!cached) {
    const buffers = fontBuffers();
    const regular = preparse(buffers.regular);
    const bold = preparse(buffers.bold);
    cached =
      regular && bold
        ? // Library seam: pdfkit's typings do not list fontkit fonts as a font source, though it accepts them.
          { regular: regular as unknown as FontSource, bold: bold as unknown as FontSource, preparsed: true }
        : { regular: buffers.regular, bold: buffers.bold, preparsed: false };
  }
  return cached;
}
