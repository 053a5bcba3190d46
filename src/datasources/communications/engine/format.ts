import { TemplateError } from './errors.js';

/**
 * Locale-aware formatting that gives the same output on every host: an unsupported locale
 * would otherwise fall back to the host's default locale, and a date-time without an offset
 * would be read in the host's time zone.
 */

const FALLBACK_LOCALE = 'en-GB';
const localeCache = new Map<string, string>();

export function resolveLocale(locale: unknown): string {
  if (typeof locale !== 'string' || locale === '') return FALLBACK_LOCALE;
  const cached = localeCache.get(locale);
  if (cached) return cached;
  let resolved = FALLBACK_LOCALE;
  try {
    const supported = Intl.NumberFormat.supportedLocalesOf([locale]);
    if (supported.length > 0) resolved = supported[0];
  } catch {
    // A malformed tag (RangeError) gets the fallback rather than failing the document.
  }
  if (localeCache.size < 1000) localeCache.set(locale, resolved);
  return resolved;
}

const numberFormats = new Map<string, Intl.NumberFormat>();
const amounts = new Map<string, string>();

export function formatMoney(amount: unknown, currency: unknown, locale: string): string {
  if (amount === null || amount === undefined || amount === '') return '';
  const value = typeof amount === 'string' && /^-?\d+(\.\d+)?$/.test(amount) ? Number(amount) : amount;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TemplateError(`money: ${JSON.stringify(amount)} is not a number`);
  }
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) {
    throw new TemplateError(`money: ${JSON.stringify(currency)} is not an ISO 4217 currency code`);
  }
  const key = `${locale}|${currency}`;
  // A statement prints the same few amounts on every letter of a batch, and ICU's formatting is
  // the costly part; the text is a pure function of locale, currency and value. String(value)
  // tells every number apart but -0 from 0, which ICU prints with a minus sign.
  const amountKey = `${key}|${Object.is(value, -0) ? '-0' : String(value)}`;
  const known = amounts.get(amountKey);
  if (known !== undefined) return known;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale, { style: 'currency', currency });
    if (numberFormats.size < 1000) numberFormats.set(key, format);
  }
  const text = format.format(value);
  if (amounts.size >= 1000) amounts.clear();
  amounts.set(amountKey, text);
  return text;
}

const percentFormats = new Map<string, Intl.NumberFormat>();

/** `4.25` (meaning 4.25 %) in the reader's convention, e.g. "4.25%" or "4,25 %". */
export function formatPercent(value: unknown, locale: string): string {
  if (value === null || value === undefined || value === '') return '';
  const number = typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) {
    throw new TemplateError(`percent: ${JSON.stringify(value)} is not a number`);
  }
  let format = percentFormats.get(locale);
  if (!format) {
    format = new Intl.NumberFormat(locale, {
      style: 'percent',
      minimumFractionDigits: 2,
      maximumFractionDigits: 3,
    });
    if (percentFormats.size < 1000) percentFormats.set(locale, format);
  }
  // Scaled in decimal, not by float division: 4.35 / 100 is 0.043500000000000004. Numbers that
  // print in exponent form are far below what a rate shows anyway.
  const text = String(number);
  return format.format(text.includes('e') ? number / 100 : Number(`${text}e-2`));
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

const parsedDates = new Map<string, number>();

/** Parses an ISO date or an ISO date-time with an explicit offset; anything else is refused. */
export function parseIsoDate(value: unknown, what: string): Date {
  if (typeof value === 'string') {
    // Every letter parses its issue date three times or more, and a batch shares it: remember the
    // instant of strings already accepted (a fresh Date each time, since callers own it).
    const known = parsedDates.get(value);
    if (known !== undefined) return new Date(known);
    const date = parseIsoString(value);
    if (date) {
      if (parsedDates.size >= 1000) parsedDates.clear();
      parsedDates.set(value, date.getTime());
      return date;
    }
  }
  throw new TemplateError(
    `${what}: ${JSON.stringify(value)} is not an ISO date (YYYY-MM-DD or date-time with offset)`,
  );
}

function parseIsoString(value: string): Date | null {
  const dateOnly = DATE_ONLY.exec(value);
  if (dateOnly) {
    const [, y, m, d] = dateOnly;
    const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
    // Date.UTC rolls 2025-02-30 over into March; a calendar date that does not exist is an error.
    if (date.toISOString().slice(0, 10) === value) return date;
  } else if (DATE_TIME.test(value)) {
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) return date;
  }
  return null;
}

export type DateStyle = 'iso' | 'long';

const dateFormats = new Map<string, Intl.DateTimeFormat>();
const longDates = new Map<string, string>();

export function formatDate(value: unknown, style: DateStyle, locale: string): string {
  if (value === null || value === undefined || value === '') return '';
  const date = parseIsoDate(value, 'date');
  if (style === 'iso') return date.toISOString().slice(0, 10);
  // A batch prints the same few dates (its issue date, the data's) on every letter, and ICU's
  // formatting is the costly part; the text is a pure function of locale and date.
  const key = `${locale}|${date.getTime()}`;
  const known = longDates.get(key);
  if (known !== undefined) return known;
  let format = dateFormats.get(locale);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone: 'UTC' });
    if (dateFormats.size < 1000) dateFormats.set(locale, format);
  }
  const text = format.format(date);
  if (longDates.size >= 1000) longDates.clear();
  longDates.set(key, text);
  return text;
}

let regionNames: Intl.DisplayNames | null = null;
const countryCache = new Map<string, string>();

/**
 * An ISO 3166 code as the country line of a postal address: the English name in capitals, as
 * the UPU recommends for international mail. Anything that is not a known code is printed as given.
 */
export function postalCountry(code: string): string {
  // A pure function of the code (ICU's names are fixed for the process): every letter asks again.
  const known = countryCache.get(code);
  if (known !== undefined) return known;
  let line = code;
  if (/^[A-Za-z]{2}$/.test(code)) {
    regionNames ??= new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });
    const name = regionNames.of(code.toUpperCase());
    line = !name || name === 'Unknown Region' ? code : name.toUpperCase();
  }
  if (countryCache.size < 1000) countryCache.set(code, line);
  return line;
}

/**
 * The language of a letter whose template version declares none: versions written before
 * letters had a language. New drafts get it by default (withLanguage).
 */
export const DEFAULT_LANGUAGE = 'en-GB';
/** A version lists at most this many languages its text is written for. */
export const MAX_LANGUAGES = 10;

const languageCache = new Map<string, string | null>();

/** The canonical form of a BCP 47 tag Intl can format in, or null. */
export function supportedLanguage(tag: unknown): string | null {
  if (typeof tag !== 'string' || tag === '' || tag.length > 35) return null;
  // Asked for the version's languages and the customer's locale on every letter, and ICU's answer
  // is fixed for the process: the two Intl calls were a twentieth of a statement's render.
  const known = languageCache.get(tag);
  if (known !== undefined) return known;
  let language: string | null;
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    language = canonical && Intl.NumberFormat.supportedLocalesOf([canonical]).length ? canonical : null;
  } catch {
    language = null;
  }
  if (languageCache.size < 1000) languageCache.set(tag, language);
  return language;
}

/**
 * The languages a version's text is written for (`content.language`: one tag or a list), or
 * null when it declares none: such a version (written before letters had a language) keeps
 * formatting in the customer's locale, so what it rendered then re-renders byte for byte.
 */
export function declaredLanguages(content: { language?: unknown }): string[] | null {
  const raw = content.language;
  if (raw === undefined || raw === null) return null;
  const tags = (Array.isArray(raw) ? raw : [raw]).map(supportedLanguage);
  const languages = tags.filter((t): t is string => t !== null);
  return languages.length ? languages : null;
}

/**
 * The language a letter is written in: among the languages its version offers, the customer's
 * locale chooses (the same tag, else the same language, e.g. en-IE for en-GB text offered as en-IE
 * too); otherwise the version's own, the first it lists. A pl-PL customer of an English-only
 * template gets an English letter, dates and amounts included.
 */
export function chooseLanguage(offered: readonly string[], customerLocale: unknown): string {
  const own = offered[0] ?? DEFAULT_LANGUAGE;
  const wanted = supportedLanguage(customerLocale);
  if (!wanted) return own;
  const lower = wanted.toLowerCase();
  const exact = offered.find((t) => t.toLowerCase() === lower);
  if (exact) return exact;
  const primary = lower.split('-')[0];
  return offered.find((t) => t.toLowerCase().split('-')[0] === primary) ?? own;
}
