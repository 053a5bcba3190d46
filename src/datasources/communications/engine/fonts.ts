import fs from 'node:fs';
import path from 'node:path';
import PDFDocument from 'pdfkit';

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

/** The part of a fontkit font we touch: its per-glyph cache. */
interface SharedFontkitFont {
  layout: (...args: unknown[]) => unknown;
  _glyphs: Record<number, unknown>;
}

function isSharableFont(value: unknown): value is SharedFontkitFont {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { layout?: unknown }).layout === 'function' &&
    typeof (value as { _glyphs?: unknown })._glyphs === 'object' &&
    (value as { _glyphs?: unknown })._glyphs !== null
  );
}

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
    const parsed: unknown = (scratch as unknown as { _font?: { font?: unknown } })._font?.font;
    if (isSharableFont(parsed)) return parsed;
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
