import PDFDocument from 'pdfkit';

/**
 * Cheaper byte handling for pdfkit's output, with the same bytes.
 *
 * pdfkit turns every string it writes into bytes with `fromBinaryString(text + '\n')`: a loop
 * storing `charCodeAt(i) & 0xff` into a new Uint8Array, one per content-stream operator (several
 * hundred per letter), concatenated again when the stream ends. Each object it writes goes into
 * its Readable stream in four or five pieces, each converted to a Buffer and queued. Together
 * that was about a tenth of a statement's render. Node's 'latin1' encoding writes the same byte
 * for every UTF-16 code unit (its low 8 bits; checked for all 65,536 in the unit tests), so:
 *
 * - a stream object's string writes are joined as one string and encoded once when it ends
 *   (`shareStreamWriting`);
 * - a document's output is gathered in an array rather than pushed through the stream piece by
 *   piece (`collectOutput`).
 *
 * Library seam: both reach into pdfkit's private PDFReference.write/finalize and
 * PDFDocument._write, checked for before use; where they are missing pdfkit goes its own way.
 */

/** pdfkit's PDFReference as its write and finalize use it. */
interface ReferenceLike {
  data: { Length?: number; Filter?: string };
  compress: boolean;
  uncompressedLength: number;
  buffer: Uint8Array[];
  /** Strings written since the last byte chunk, each with its newline, not yet encoded. */
  pendingText?: string;
}

type ReferenceMethod = (this: ReferenceLike, chunk?: unknown) => void;

const PATCHED = Symbol('commsgraph.pdfOutput');

function flushText(ref: ReferenceLike): void {
  if (ref.pendingText === undefined) return;
  ref.buffer.push(Buffer.from(ref.pendingText, 'latin1'));
  ref.pendingText = undefined;
}

let shared: boolean | null = null;

/** Patches pdfkit's PDFReference once per process; returns whether it could. */
export function shareStreamWriting(): boolean {
  if (shared !== null) return shared;
  shared = false;
  const scratch = new PDFDocument({ autoFirstPage: false }) as unknown as { ref?: () => unknown };
  const ref = typeof scratch.ref === 'function' ? scratch.ref() : null;
  const proto = ref ? (Object.getPrototypeOf(ref) as Record<string | symbol, unknown>) : null;
  if (
    !ref ||
    !proto ||
    typeof proto.write !== 'function' ||
    typeof proto.finalize !== 'function' ||
    !Array.isArray((ref as Partial<ReferenceLike>).buffer) ||
    typeof (ref as Partial<ReferenceLike>).uncompressedLength !== 'number'
  )
    return false;
  if (!proto[PATCHED]) {
    const write = proto.write as ReferenceMethod;
    const finalize = proto.finalize as ReferenceMethod;
    proto.write = function (this: ReferenceLike, chunk: unknown) {
      // Anything but a string (bytes, mostly) goes pdfkit's way, after the text written before it.
      if (typeof chunk !== 'string') {
        flushText(this);
        write.call(this, chunk);
        return;
      }
      const text = `${chunk}\n`;
      this.pendingText = this.pendingText === undefined ? text : this.pendingText + text;
      // pdfkit's bookkeeping, with the byte length, which is one byte per UTF-16 code unit.
      this.uncompressedLength += text.length;
      if (this.data.Length == null) this.data.Length = 0;
      this.data.Length += text.length;
      if (this.compress) this.data.Filter = 'FlateDecode';
    };
    proto.finalize = function (this: ReferenceLike) {
      flushText(this);
      finalize.call(this);
    };
    proto[PATCHED] = true;
  }
  shared = true;
  return true;
}

interface DocumentOutput {
  _write?: (data: unknown) => void;
  _offset?: number;
}

/**
 * Gathers what `doc` writes into `chunks` instead of its Readable stream, as the same bytes in the
 * same order (call it before anything reads the stream); the stream still ends (pdfkit pushes null after the trailer), so 'end' still fires
 * once the document is flowing. Returns false, changing nothing, where pdfkit's _write is not there.
 */
export function collectOutput(doc: PDFKit.PDFDocument, chunks: Uint8Array[]): boolean {
  const output = doc as unknown as DocumentOutput;
  if (typeof output._write !== 'function' || typeof output._offset !== 'number') return false;
  // What the constructor wrote (the header) is already in the stream's buffer: it comes first.
  const written = doc.read() as Buffer | null;
  if (written) chunks.push(written);
  output._write = function (this: DocumentOutput, data: unknown) {
    const bytes = data instanceof Uint8Array ? data : Buffer.from((data as string) + '\n', 'latin1');
    chunks.push(bytes);
    this._offset! += bytes.length;
  };
  return true;
}
