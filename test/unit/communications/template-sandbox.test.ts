import { SEED_TEMPLATES } from '../../../src/datasources/communications/seed/templates.js';
import { templateContentProblem } from '../../../src/datasources/communications/engine/index.js';

/** What template authors may write: checked when content is created or edited. */

const problem = (content: unknown) => templateContentProblem(content);
const sms = (source: string) => problem({ sms: source });
const html = (source: string) => problem({ html: source });
const mjml = (source: string) =>
  problem({
    mjml: `<mjml><mj-body><mj-section><mj-column>${source}</mj-column></mj-section></mj-body></mjml>`,
  });

describe('the seed library', () => {
  it.each(SEED_TEMPLATES.map((t) => [t.id, t.content] as const))('%s passes', (_id, content) => {
    expect(problem(content)).toBeNull();
  });
});

describe('Handlebars', () => {
  it.each([
    ['{{constructor.constructor}}', 'constructor'],
    ['{{constructor}}', 'constructor'],
    ['{{__proto__}}', '__proto__'],
    ['{{data.__proto__.polluted}}', '__proto__'],
    ['{{data.[__proto__]}}', '__proto__'],
    ['{{#with __proto__}}{{polluted}}{{/with}}', '__proto__'],
    ['{{#with "s"}}{{constructor.name}}{{/with}}', 'constructor'],
    ['{{customer.name.constructor}}', 'constructor'],
    ['{{data.hasOwnProperty}}', 'hasOwnProperty'],
    ['{{__defineGetter__}}', '__defineGetter__'],
    ['{{../constructor}}', 'constructor'],
    ['{{@root.constructor}}', 'constructor'],
    ['{{"constructor"}}', 'constructor'],
    ['{{#each data.constructor}}{{this}}{{/each}}', 'constructor'],
    ['{{money data.prototype "EUR"}}', 'prototype'],
  ])('%s is refused (reaches %s)', (source, name) => {
    expect(sms(source)).toEqual({ path: 'content.sms', message: expect.stringContaining(`"${name}"`) });
  });

  it.each([
    ['{{lookup this "constructor"}}', 'lookup'],
    ['{{lookup (lookup this "constructor") "name"}}', 'lookup'],
    ['{{log "hello"}}', 'log'],
    ['{{shout data.amount}}', 'shout'],
    ['{{#data.items}}{{name}}{{/data.items}}', 'data.items'],
    ['{{#lookup data "x"}}{{/lookup}}', 'lookup'],
    ['{{upper (helperMissing data)}}', 'helperMissing'],
    ['{{{{raw}}}} {{x}} {{{{/raw}}}}', 'raw'],
  ])('%s is refused (%s is no helper of ours)', (source, name) => {
    expect(sms(source)?.message).toContain(JSON.stringify(name));
  });

  it.each([
    ['{{> letterhead}}', 'partials'],
    ['{{#> layout}}x{{/layout}}', 'partials'],
    ['{{#*inline "p"}}x{{/inline}}', 'decorators'],
    ['{{{data.note}}}', 'unescaped'],
    ['{{& data.note}}', 'unescaped'],
    ['{{@partial-block}}', '@partial-block'],
    ['{{#if data.a}}open', 'not a valid Handlebars template'],
  ])('%s is refused (%s)', (source, what) => {
    expect(sms(source)?.message).toContain(what);
  });

  it('allows paths, literals, our helpers and the four blocks', () => {
    expect(
      sms(
        '{{customer.name}} {{data.items.length}} {{money data.amount "EUR"}} {{date issuedAt "long"}} ' +
          '{{#each data.items as |item|}}{{@index}} {{item.name}} {{../brand.name}}{{/each}} ' +
          '{{#if (eq data.outcome "UPHELD")}}yes{{else}}no{{/if}}{{#unless data.x}}-{{/unless}}' +
          '{{#with data.account}}{{number}}{{/with}} {{upper @root.customer.name}} {{percent 4.5}} {{! note }}',
      ),
    ).toBeNull();
  });

  it('names the field of print blocks and table cells', () => {
    expect(
      problem({
        print: {
          title: 'ok',
          blocks: [
            { kind: 'paragraph', text: 'fine' },
            {
              kind: 'table',
              rows: [
                ['Amount', '{{money data.amount}}'],
                ['x', '{{constructor}}'],
              ],
            },
          ],
        },
      })?.path,
    ).toBe('content.print.blocks[1].rows[1][1]');
    expect(problem({ print: { title: '{{{x}}}', blocks: [] } })?.path).toBe('content.print.title');
  });

  it('refuses content fields it does not know and malformed print layouts', () => {
    expect(problem({ script: 'x' })?.path).toBe('content.script');
    expect(problem({ sms: 42 })?.path).toBe('content.sms');
    expect(problem({ print: { title: 't', blocks: [{ kind: 'image', text: 'x' }] } })?.path).toBe(
      'content.print.blocks[0].kind',
    );
    expect(problem({ print: { title: 't', blocks: [{ kind: 'table', rows: [['a']] }] } })?.path).toBe(
      'content.print.blocks[0].rows[0]',
    );
  });
});

describe('HTML and MJML', () => {
  it.each([
    ['<p>Hello</p><script>alert(1)</script>', '<script>'],
    ['<SCRIPT src="https://x.example/a.js"></SCRIPT>', '<script>'],
    ['<iframe src="https://x.example/"></iframe>', '<iframe>'],
    ['<img src="x.png" onerror="alert(1)">', 'onerror'],
    ['<a href="javascript:alert(1)">x</a>', 'script URLs'],
    ['<a href=" JaVa&#x09;script&colon;alert(1)">x</a>', 'script URLs'],
    ['<a href="{{data.link}}">x</a>', 'start of the URL'],
    ['<a href="//{{data.host}}/x">x</a>', 'start of the URL'],
    ['<img src="{{data.picture}}">', 'start of the URL'],
    ['<p style="color:{{data.colour}}">x</p>', 'CSS'],
    ['<style>p{color:{{data.colour}};}</style>', 'CSS'],
    ['<p title={{data.title}}>x</p>', 'quoted'],
    ['<p {{data.attr}}>x</p>', 'attribute name'],
    ['<{{data.tag}}>x</{{data.tag}}>', 'tag name'],
    ['<p class="a" {{#if data.x}}hidden{{/if}} {{data.attr}}="1">x</p>', 'attribute name'],
    ['<{{#if data.x}}script{{/if}}>alert(1)</script>', '<script>'],
    ['<scr{{#if data.x}}{{/if}}ipt>alert(1)</script>', '<script>'],
    ['<p on{{#if data.x}}{{/if}}click="x()">x</p>', 'onclick'],
    ['<a href="{{#if data.x}}https://a.example/{{/if}}{{data.link}}">x</a>', 'blocks'],
    // Found in review: a slash made optional by a block hid the tag name.
    ['<p>Hi</p><{{#if data.x}}/{{/if}}script>alert(1)<{{#if data.x}}{{else}}/{{/if}}script>', '<script>'],
    ['<{{#if data.x}}/{{/if}}iframe srcdoc="x">', '<iframe>'],
    ['<meta http-equiv="refresh" content="0;url=javascript:alert(1)">', '<meta>'],
    ['<p data-x="0;url=javascript:alert(1)">x</p>', 'script URLs'],
    ['<a href="/{{data.path}}">x</a>', 'start of the URL'],
  ])('%s is refused (%s)', (source, what) => {
    expect(html(source)).toEqual({ path: 'content.html', message: expect.stringContaining(what) });
  });

  it.each([
    ['<mj-button href="{{data.link}}">Pay</mj-button>', 'start of the URL'],
    ['<mj-text color="{{data.colour}}">x</mj-text>', 'CSS'],
    ['<mj-raw><script>alert(1)</script></mj-raw>', '<script>'],
    ['<mj-text><p onclick="x()">x</p></mj-text>', 'onclick'],
  ])('MJML %s is refused (%s)', (source, what) => {
    expect(mjml(source)).toEqual({ path: 'content.mjml', message: expect.stringContaining(what) });
  });

  it('allows expressions in text, in quoted text attributes, after a fixed URL start, and brand values in CSS', () => {
    expect(
      html(
        '<h1 style="color:{{brand.primaryColour}}">{{data.title}}</h1><p title="{{data.note}}">{{customer.name}}</p>' +
          '<a href="https://portal.example/pay?ref={{data.ref}}">Pay</a> <a href="mailto:{{customer.email}}">mail</a>' +
          '<a href="/statements/{{data.id}}">view</a><!-- {{data.hidden}} --><style>h2{color:{{brand.primaryColour}};}</style>' +
          '<p {{#if data.quiet}}hidden{{/if}} class="{{#if data.x}}a{{else}}b{{/if}}">{{#each data.lines}}{{this}}<br>{{/each}}</p>',
      ),
    ).toBeNull();
    expect(
      mjml(
        '<mj-text color="#333333" font-size="14px">{{#each data.items}}<p>{{this}}</p>{{/each}}</mj-text>' +
          '<mj-button background-color="{{brand.primaryColour}}" href="https://portal.example/{{data.ref}}">Go</mj-button>' +
          '<mj-image alt="{{data.caption}}" src="https://cdn.example/logo.png"></mj-image>',
      ),
    ).toBeNull();
  });

  it('applies the markup rules to html and mjml only: text and SMS are plain text', () => {
    expect(problem({ text: '<script>alert(1)</script> {{data.note}}' })).toBeNull();
    expect(problem({ subject: 'Your <b>statement</b>' })).toBeNull();
  });
});
