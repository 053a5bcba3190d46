/** Just enough RFC 5322 / MIME / RFC 2047 to write a standards-conforming .eml file. */
import { createHash } from 'node:crypto';

const CRLF = '\r\n';
const PRINTABLE_ASCII = /^[\x20-\x7E]*$/;
const ATEXT_PHRASE = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/;

/**
 * RFC 2047 "B" encoded words. Each word carries at most 39 bytes (52 base64 characters, 64 with
 * the wrapper), so that even the first one fits on a line after "Subject: " within 78 characters;
 * and it never splits a UTF-8 sequence, since every word must decode on its own.
 */
export function encodedWords(text: string): string[] {
  const words: string[] = [];
  let chunk = '';
  let chunkBytes = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (chunkBytes + size > 39) {
      words.push(chunk);
      chunk = '';
      chunkBytes = 0;
    }
    chunk += ch;
    chunkBytes += size;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`);
}

/** Folds at spaces so lines stay within the recommended 78 characters where the words allow. */
function fold(name: string, words: string[]): string {
  let line = `${name}:`;
  const lines: string[] = [];
  for (const word of words) {
    if (line.length + 1 + word.length > 78 && line.trim() !== `${name}:`) {
      lines.push(line);
      line = '';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines.join(CRLF);
}

/** A header line with an unstructured value (e.g. Subject), encoded when it is not plain ASCII. */
export function unstructuredHeader(name: string, value: string): string {
  const clean = value.replace(/[\r\n]+/g, ' ');
  // Plain text that happens to look like an encoded word would be decoded by the reader's client.
  if (PRINTABLE_ASCII.test(clean) && !clean.includes('=?')) {
    return fold(
      name,
      clean.split(' ').filter((w) => w !== ''),
    );
  }
  return fold(name, encodedWords(clean));
}

/** `Display Name <addr>`, quoting or encoding the display name as RFC 5322 and 2047 require. */
export function mailbox(displayName: string, address: string): string {
  const name = displayName.replace(/[\r\n]+/g, ' ').trim();
  if (!name) return `<${address}>`;
  if (ATEXT_PHRASE.test(name)) return `${name} <${address}>`;
  if (PRINTABLE_ASCII.test(name)) return `"${name.replace(/(["\\])/g, '\\$1')}" <${address}>`;
  return `${encodedWords(name).join(' ')} <${address}>`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 date-time in UTC, e.g. `Sat, 01 Mar 2025 09:30:00 +0000`. */
export function rfc5322Date(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${DAYS[date.getUTCDay()]}, ${pad(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

function base64Lines(body: Buffer): string {
  return (body.toString('base64').match(/.{1,76}/g) ?? []).join(CRLF);
}

export interface MimeMessage {
  from: string;
  to: string;
  subject: string;
  date: Date;
  messageId: string;
  text: Buffer;
  html: Buffer;
  extraHeaders?: Array<[string, string]>;
}

/**
 * A multipart/alternative message, plain text first so that clients prefer the HTML. Bodies are
 * base64, whose alphabet has no "_", so the boundary can never occur inside a part.
 */
export function buildMultipartAlternative(msg: MimeMessage): string {
  // RFC 2046 caps a boundary at 70 characters, so it is derived from the message id, not made of it.
  const boundary = `=_cg_${createHash('sha256').update(msg.messageId).digest('hex').slice(0, 32)}`;
  const headers = [
    `From: ${msg.from}`,
    `To: ${msg.to}`,
    unstructuredHeader('Subject', msg.subject),
    `Date: ${rfc5322Date(msg.date)}`,
    `Message-ID: <${msg.messageId}>`,
    'MIME-Version: 1.0',
    ...(msg.extraHeaders ?? []).map(([name, value]) => unstructuredHeader(name, value)),
    `Content-Type: multipart/alternative;${CRLF} boundary="${boundary}"`,
  ];
  return [
    ...headers,
    '',
    'This is a multi-part message in MIME format.',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(msg.text),
    `--${boundary}`,
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(msg.html),
    `--${boundary}--`,
    '',
  ].join(CRLF);
}
