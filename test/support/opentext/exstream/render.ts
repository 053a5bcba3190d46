/**
 * The fake engine's output: small, valid and deterministic. The same (communication version
 * content, driver document) always gives the same bytes, and any change to either changes
 * them, so byte-exact reissue and "the template moved on" can both be tested.
 */
import { createHash } from 'node:crypto';

export interface RenderInput {
  communicationId: string;
  name: string;
  version: number;
  content: Buffer;
  driver: unknown;
}

/** `a.b[0].c: value` lines, keys sorted, so that key order in the driver does not matter. */
function flatten(value: unknown, prefix: string, out: string[]): void {
  if (value !== null && typeof value === 'object') {
    if (Array.isArray(value)) value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
    else
      for (const key of Object.keys(value).sort())
        flatten((value as Record<string, unknown>)[key], prefix ? `${prefix}.${key}` : key, out);
    return;
  }
  out.push(`${prefix}: ${String(value)}`);
}

function lines(input: RenderInput): string[] {
  const fields: string[] = [];
  flatten(input.driver, '', fields);
  const templateHash = createHash('sha256').update(input.content).digest('hex').slice(0, 16);
  return [
    input.name,
    `Communication ${input.communicationId} version ${input.version} (template ${templateHash})`,
    ...fields,
  ];
}

const pdfText = (s: string) =>
  s
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 100)
    .replace(/[\\()]/g, (c) => `\\${c}`);

export function renderPdf(input: RenderInput): Buffer {
  const text = lines(input)
    .slice(0, 55)
    .map((l, i) => `${i === 0 ? '' : 'T* '}(${pdfText(l)}) Tj`)
    .join('\n');
  const stream = `BT /F1 10 Tf 14 TL 50 800 Td\n${text}\nET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Length ${Buffer.byteLength(stream, 'latin1')} >>\nstream\n${stream}\nendstream`,
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

const html = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderHtml(input: RenderInput): Buffer {
  const [title, subtitle, ...fields] = lines(input);
  return Buffer.from(
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${html(title!)}</title></head>` +
      `<body><h1>${html(title!)}</h1><p>${html(subtitle!)}</p><ul>` +
      fields.map((f) => `<li>${html(f)}</li>`).join('') +
      '</ul></body></html>\n',
    'utf8',
  );
}

export function renderSms(input: RenderInput): Buffer {
  const [title, , ...fields] = lines(input);
  return Buffer.from(`${title}: ${fields.join('; ')}`.slice(0, 160), 'utf8');
}

/** An Empower document id, stable for the same input. */
export function empowerDocumentId(input: RenderInput): string {
  const h = createHash('sha256').update(renderHtml(input)).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
