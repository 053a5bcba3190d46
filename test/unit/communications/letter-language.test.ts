import {
  chooseLanguage,
  createRenderer,
  declaredLanguages,
  templateContentProblem,
} from '../../../src/datasources/communications/engine/index.js';
import { demoVersion, LUKASZ, MARGARET, partText, snapshot } from './fixtures.js';

/**
 * Letters in one language: a template version declares the language its text is written in,
 * and every date and amount of the letter is written in it, whatever the customer's locale.
 * The expected strings are written out by hand (British English as a reader expects it).
 */
const renderer = createRenderer();
const DATA = { amount: 1520.1, currency: 'GBP', due: '2026-12-04', rate: 4.25 };
const SMS = '{{money data.amount}} due {{date data.due}} ({{date data.due "iso"}}) at {{percent data.rate}}';

async function sms(language: string | string[] | undefined, customer = LUKASZ): Promise<string> {
  const version = demoVersion(`ver_lang_${JSON.stringify(language)}`, { sms: SMS, language });
  const result = await renderer.render(version, 'MOBILE', snapshot(customer, DATA));
  return partText(result.parts, 'sms.txt');
}

describe('chooseLanguage', () => {
  test.each<[string[], string, string]>([
    [['en-GB'], 'pl-PL', 'en-GB'],
    [['en-GB', 'pl-PL'], 'pl-PL', 'pl-PL'],
    [['en-GB', 'en-IE'], 'en-IE', 'en-IE'],
    [['en-GB', 'en-IE'], 'en-US', 'en-GB'],
    [['pl-PL', 'en-GB'], 'en-IE', 'en-GB'],
    [['en-GB', 'pl-PL'], 'not a locale!', 'en-GB'],
  ])('%j for a %s customer: %s', (offered, locale, chosen) => {
    expect(chooseLanguage(offered, locale)).toBe(chosen);
  });
});

describe('a letter with a language', () => {
  test('a pl-PL customer of an English letter reads English dates and amounts, one date format throughout', async () => {
    expect(await sms('en-GB')).toBe('£1,520.10 due 4 December 2026 (4 December 2026) at 4.25%');
  });

  test('the customer locale chooses among the languages a version lists', async () => {
    expect(await sms(['en-GB', 'pl-PL'])).toBe(
      '1520,10\u00a0GBP due 4 grudnia 2026 (4 grudnia 2026) at 4,25%',
    );
    expect(await sms(['pl-PL', 'en-GB'], MARGARET)).toBe(
      '£1,520.10 due 4 December 2026 (4 December 2026) at 4.25%',
    );
  });

  test('the web page and the amounts of every channel are in the letter language', async () => {
    const version = demoVersion('ver_lang_web', { language: 'en-GB' });
    const web = partText((await renderer.render(version, 'WEB', snapshot(LUKASZ, DATA))).parts, 'index.html');
    expect(web).toContain('<html lang="en-GB">');
    expect(web).toContain('£1,520.10');
    const mail = await renderer.render(version, 'EMAIL', snapshot(LUKASZ, DATA));
    expect(partText(mail.parts, 'body.txt')).toContain('you owe £1,520.10.');
  });

  test('a version written before letters had a language renders as it always did, so a reissue is byte for byte', async () => {
    expect(await sms(undefined)).toBe('1520,10\u00a0GBP due 2026-12-04 (2026-12-04) at 4,25%');
    const version = demoVersion('ver_lang_legacy', { sms: SMS });
    const first = await renderer.render(version, 'MOBILE', snapshot(LUKASZ, DATA));
    const again = await createRenderer().render(version, 'MOBILE', snapshot(LUKASZ, DATA));
    expect(again.contentHash).toBe(first.contentHash);
  });
});

describe('declaring a language', () => {
  test('one tag or a list of supported, different tags; anything else is refused where it is', () => {
    expect(declaredLanguages({ language: 'en-gb' })).toEqual(['en-GB']);
    expect(declaredLanguages({ language: ['en-GB', 'en-IE'] })).toEqual(['en-GB', 'en-IE']);
    expect(declaredLanguages({})).toBeNull();
    expect(templateContentProblem({ sms: 'x', language: 'en-GB' })).toBeNull();
    expect(templateContentProblem({ sms: 'x', language: 'english' })?.path).toBe('content.language');
    expect(templateContentProblem({ sms: 'x', language: ['en-GB', 'en-gb'] })).toEqual({
      path: 'content.language[1]',
      message: 'en-GB is listed twice',
    });
    expect(templateContentProblem({ sms: 'x', language: [] })?.path).toBe('content.language');
    expect(templateContentProblem({ sms: 'x', language: 42 })?.path).toBe('content.language');
  });
});
