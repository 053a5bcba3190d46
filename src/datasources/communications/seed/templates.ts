/**
 * The demo template library: one approved template per document type, each with content for
 * exactly the channels it lists, a JSON Schema (draft 2020-12) for the data it needs and sample
 * data that satisfies it.
 *
 * Every template is written once as a `Letter` (headings, paragraphs, key facts, lists) and
 * turned into PDF blocks, MJML, plain text and web HTML from that, so that a regulated wording
 * reads the same on every channel. Brand identity (colours, logo, sender, footer) comes from
 * `brand.*` at render time, so one template serves both brands.
 */
import type { Channel, PrintBlock, TemplateContent } from '../engine/index.js';

export interface SeedTemplate {
  id: string;
  name: string;
  /** snake_case; the id is `tpl_<documentType>`. */
  documentType: string;
  channels: Channel[];
  content: TemplateContent;
  dataSchema: Record<string, unknown>;
  /** Data that satisfies `dataSchema`, for demos and tests. */
  sampleData: Record<string, unknown>;
}

type Rows = Array<[string, string]>;

/** One piece of a letter. Text is Handlebars; static text may use &, < and >, which are escaped for HTML. */
type Section =
  | { heading: string }
  | { p: string }
  | { facts: Rows }
  /** `each` is a Handlebars path to an array; `item` renders one element (default `{{this}}`). */
  | { list: string; item?: string };

interface Letter {
  /** EMAIL subject. */
  subject: string;
  /** PRINT title, WEB and EMAIL heading. */
  title: string;
  sections: Section[];
  /** MOBILE text; keep it short enough for the longest values the schema allows. */
  sms?: string;
}

const GREETING = 'Dear {{customer.name}},';
const SIGN_OFF = ['Yours sincerely,', '{{brand.senderName}}', '{{brand.name}}'];
const EMAIL_NOTE =
  'This is a service message about your {{brand.name}} account. Please do not reply to this email; ' +
  'contact us through the usual channels instead.';

/** HTML-escapes the static text of a Handlebars source, leaving its {{expressions}} alone. */
function htmlText(source: string): string {
  return source
    .split(/(\{\{[\s\S]*?\}\})/)
    .map((piece, i) =>
      i % 2 === 1 ? piece : piece.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'),
    )
    .join('');
}

function eachItem(section: { list: string; item?: string }): string {
  return section.item ?? '{{this}}';
}

function printContent(letter: Letter): NonNullable<TemplateContent['print']> {
  const blocks: PrintBlock[] = [{ kind: 'paragraph', text: GREETING }];
  for (const s of letter.sections) {
    if ('heading' in s) blocks.push({ kind: 'heading', text: s.heading });
    else if ('p' in s) blocks.push({ kind: 'paragraph', text: s.p });
    else if ('facts' in s) blocks.push({ kind: 'table', rows: s.facts });
    else blocks.push({ kind: 'paragraph', text: `{{#each ${s.list}}}• ${eachItem(s)}\n{{/each}}` });
  }
  blocks.push({ kind: 'signature', text: SIGN_OFF.join('\n') });
  return { title: letter.title, blocks };
}

const TD_LABEL = 'padding:7px 12px 7px 0;color:#555555;border-bottom:1px solid #e6e6e6;vertical-align:top;';
const TD_VALUE = 'padding:7px 0;font-weight:bold;border-bottom:1px solid #e6e6e6;vertical-align:top;';

function mjmlContent(letter: Letter): string {
  const body: string[] = [];
  let text: string[] = [
    `<h1 style="margin:0 0 16px;font-size:21px;line-height:28px;color:{{brand.primaryColour}};">${htmlText(letter.title)}</h1>`,
    `<p>${htmlText(GREETING)}</p>`,
  ];
  const flush = () => {
    if (text.length) body.push(`<mj-text>\n${text.join('\n')}\n</mj-text>`);
    text = [];
  };
  for (const s of letter.sections) {
    if ('heading' in s) {
      text.push(
        `<h2 style="margin:20px 0 6px;font-size:16px;color:{{brand.primaryColour}};">${htmlText(s.heading)}</h2>`,
      );
    } else if ('p' in s) {
      text.push(`<p>${htmlText(s.p)}</p>`);
    } else if ('list' in s) {
      text.push(`<ul>{{#each ${s.list}}}<li>${htmlText(eachItem(s))}</li>{{/each}}</ul>`);
    } else {
      flush();
      const rows = s.facts.map(
        ([label, value]) =>
          `<tr><td style="${TD_LABEL}">${htmlText(label)}</td><td style="${TD_VALUE}">${htmlText(value)}</td></tr>`,
      );
      body.push(
        `<mj-table font-size="14px" line-height="20px" color="#1a1a1a">\n${rows.join('\n')}\n</mj-table>`,
      );
    }
  }
  text.push(`<p style="margin-top:24px;">${SIGN_OFF.map(htmlText).join('<br>')}</p>`);
  flush();
  return `<mjml>
  <mj-head>
    <mj-title>${htmlText(letter.subject)}</mj-title>
    <mj-preview>${htmlText(letter.title)}</mj-preview>
    <mj-attributes>
      <mj-all font-family="'DejaVu Sans', Helvetica, Arial, sans-serif" />
      <mj-text font-size="15px" line-height="22px" color="#1a1a1a" />
    </mj-attributes>
  </mj-head>
  <mj-body background-color="#f4f4f4" width="640px">
    <mj-section background-color="{{brand.primaryColour}}" padding="18px 24px">
      <mj-column>
        <mj-text color="#ffffff" font-size="18px" font-weight="bold" letter-spacing="2px" padding="0">{{brand.logoText}}</mj-text>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff" padding="24px 16px">
      <mj-column>
${body.join('\n')}
      </mj-column>
    </mj-section>
    <mj-section padding="12px 16px">
      <mj-column>
        <mj-text font-size="11px" line-height="16px" color="#666666">${htmlText(EMAIL_NOTE)}</mj-text>
        <mj-text font-size="11px" line-height="16px" color="#666666">{{brand.footer}}</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
`;
}

function textContent(letter: Letter): string {
  const out: string[] = [letter.title, '', GREETING, ''];
  for (const s of letter.sections) {
    if ('heading' in s) out.push(s.heading, '');
    else if ('p' in s) out.push(s.p, '');
    else if ('facts' in s) out.push(...s.facts.map(([label, value]) => `${label}: ${value}`), '');
    else out.push(`{{#each ${s.list}}}- ${eachItem(s)}\n{{/each}}`);
  }
  out.push(...SIGN_OFF, '', '--', EMAIL_NOTE, '{{brand.footer}}');
  return out.join('\n');
}

function webContent(letter: Letter): string {
  const out: string[] = [`<h1>${htmlText(letter.title)}</h1>`, `<p>${htmlText(GREETING)}</p>`];
  for (const s of letter.sections) {
    if ('heading' in s) out.push(`<h2>${htmlText(s.heading)}</h2>`);
    else if ('p' in s) out.push(`<p>${htmlText(s.p)}</p>`);
    else if ('list' in s) out.push(`<ul>{{#each ${s.list}}}<li>${htmlText(eachItem(s))}</li>{{/each}}</ul>`);
    else {
      const rows = s.facts.map(
        ([l, v]) => `<tr><th scope="row">${htmlText(l)}</th><td>${htmlText(v)}</td></tr>`,
      );
      out.push(`<table class="facts">\n${rows.join('\n')}\n</table>`);
    }
  }
  out.push(`<p class="signature">${SIGN_OFF.map(htmlText).join('<br>')}</p>`);
  return out.join('\n');
}

function contentFor(letter: Letter, channels: Channel[]): TemplateContent {
  // Every demo letter is written in British English: its dates and amounts are too, whoever reads it.
  const content: TemplateContent = { language: 'en-GB' };
  for (const channel of channels) {
    switch (channel) {
      case 'PRINT':
        content.print = printContent(letter);
        break;
      case 'EMAIL':
        content.subject = letter.subject;
        content.mjml = mjmlContent(letter);
        content.text = textContent(letter);
        break;
      case 'WEB':
        content.html = webContent(letter);
        break;
      case 'MOBILE':
        if (!letter.sms) throw new Error(`seed template "${letter.title}" lists MOBILE but has no SMS text`);
        content.sms = letter.sms;
        break;
    }
  }
  return content;
}

// ---- JSON Schema building blocks; titles and descriptions feed the front ends' forms. ----

const text = (title: string, maxLength = 200, extra: Record<string, unknown> = {}) => ({
  type: 'string',
  title,
  minLength: 1,
  maxLength,
  ...extra,
});
const date = (title: string) => ({ type: 'string', format: 'date', title });
const amount = (title: string, minimum = 0) => ({ type: 'number', title, minimum, maximum: 1_000_000 });
const rate = (title: string) => ({
  type: 'number',
  title,
  description: 'Per cent per year, e.g. 4.25',
  minimum: 0,
  maximum: 100,
});
const currency = {
  type: 'string',
  title: 'Currency',
  description: 'ISO 4217 code',
  enum: ['EUR', 'GBP', 'PLN', 'RON', 'USD'],
};
/** Short identifiers are bounded so that SMS texts quoting them stay within 160 characters. */
const reference = (title: string) => text(title, 20, { pattern: '^[A-Za-z0-9./-]+$' });
const accountNumber = text('Account number', 34, { pattern: '^[A-Z0-9 ]+$' });

function schema(
  required: string[],
  properties: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    required,
    properties,
    ...extra,
  };
}

interface Definition {
  documentType: string;
  name: string;
  channels: Channel[];
  letter: Letter;
  dataSchema: Record<string, unknown>;
  sampleData: Record<string, unknown>;
}

const STATEMENT_TRANSACTIONS = {
  type: 'array',
  title: 'Transactions',
  maxItems: 200,
  items: {
    type: 'object',
    required: ['date', 'description', 'amount'],
    properties: {
      date: date('Date'),
      description: text('Description', 80),
      amount: amount('Amount', -1_000_000),
    },
  },
};

/** Shared by the standard and the premium claim acknowledgement, so both ask for the same facts. */
const CLAIM_INTAKE_PROPERTIES = {
  claimNumber: reference('Claim number'),
  policyNumber: reference('Policy number'),
  incidentDate: date('Incident date'),
  incidentSummary: text('What happened, as the customer told us', 2000),
  nextSteps: text('What happens next', 2000),
  handlerName: text('Claim handler', 60),
};
const CLAIM_INTAKE_REQUIRED = [
  'claimNumber',
  'policyNumber',
  'incidentDate',
  'incidentSummary',
  'nextSteps',
  'handlerName',
];
const CLAIM_INTAKE_SAMPLE = {
  claimNumber: 'CLM-90417',
  policyNumber: 'NWA-HP-204518',
  incidentDate: '2025-02-22',
  incidentSummary:
    'During the storm on 22 February a section of the garden wall collapsed onto the driveway and damaged ' +
    'the side door of the garage. Nobody was hurt.',
  nextSteps:
    'A loss adjuster will call you within 2 working days to arrange a visit. In the meantime, please make the ' +
    'area safe if you can and keep any receipts for emergency repairs; we will consider these as part of your claim.',
  handlerName: 'Aoife Brennan',
};
/** The customer's own words come back to them, so they can correct the record early. */
const CLAIM_SUMMARY_CHECK =
  'If anything in this summary is wrong or incomplete, please tell us straight away: incorrect information ' +
  'could delay your claim or mean it is not paid in full.';
const CLAIM_EVIDENCE =
  'Please keep any damaged items, receipts and photographs until your claim is settled, unless we agree ' +
  'otherwise, and quote your claim number {{data.claimNumber}} whenever you contact us.';

const DEFINITIONS: Definition[] = [
  {
    documentType: 'policy_pack',
    name: 'Policy pack',
    channels: ['PRINT', 'EMAIL', 'WEB'],
    letter: {
      subject: 'Your {{data.productName}} policy documents ({{data.policyNumber}})',
      title: 'Your {{data.productName}} policy',
      sections: [
        {
          p:
            'Thank you for choosing {{brand.name}}. This pack sets out the key details of your policy. ' +
            'Please read it carefully and keep it somewhere safe.',
        },
        { heading: 'Policy summary' },
        {
          facts: [
            ['Policy number', '{{data.policyNumber}}'],
            ['Product', '{{data.productName}}'],
            ['Cover starts', '{{date data.startDate "long"}}'],
            ['Cover ends', '{{date data.endDate "long"}}'],
            ['Annual premium', '{{money data.annualPremium data.currency}}'],
            ['Excess', '{{#if data.excess}}{{money data.excess data.currency}}{{else}}None{{/if}}'],
          ],
        },
        { heading: 'What you are covered for' },
        { list: 'data.coverSummary' },
        { heading: 'Please check your details' },
        {
          p:
            'If anything in this pack is wrong or incomplete, tell us straight away: incorrect information ' +
            'could mean a claim is not paid in full.',
        },
        { heading: 'Your right to cancel' },
        {
          p:
            'You can cancel within 14 days of receiving this pack or of the start of cover, whichever is later. ' +
            'If you have not made a claim we will refund your premium in full.',
        },
      ],
    },
    dataSchema: schema(
      ['policyNumber', 'productName', 'startDate', 'endDate', 'annualPremium', 'currency', 'coverSummary'],
      {
        policyNumber: reference('Policy number'),
        productName: text('Product name', 60),
        startDate: date('Cover start date'),
        endDate: date('Cover end date'),
        annualPremium: amount('Annual premium'),
        excess: amount('Excess'),
        currency,
        coverSummary: {
          type: 'array',
          title: 'What is covered',
          minItems: 1,
          maxItems: 20,
          items: text('Cover item', 160),
        },
      },
    ),
    sampleData: {
      policyNumber: 'NWA-HP-204518',
      productName: 'Home Plus',
      startDate: '2025-04-01',
      endDate: '2026-03-31',
      annualPremium: 612.4,
      excess: 250,
      currency: 'EUR',
      coverSummary: [
        'Buildings cover up to €450,000',
        'Contents cover up to €60,000, including accidental damage',
        'Alternative accommodation for up to 12 months',
        'Home emergency helpline, 24 hours a day',
      ],
    },
  },
  {
    documentType: 'account_statement',
    name: 'Account statement',
    channels: ['PRINT', 'EMAIL', 'WEB'],
    letter: {
      subject: 'Your statement for the period ending {{date data.periodEnd "long"}}',
      title: 'Account statement',
      sections: [
        { p: 'Here is your statement for account {{data.accountNumber}}.' },
        {
          facts: [
            ['Account number', '{{data.accountNumber}}'],
            [
              'Statement period',
              '{{#if data.periodStart}}{{date data.periodStart "long"}} to {{/if}}{{date data.periodEnd "long"}}',
            ],
            [
              'Opening balance',
              '{{#if data.openingBalance includeZero=true}}{{money data.openingBalance data.currency}}{{else}}Not shown{{/if}}',
            ],
            ['Closing balance', '{{money data.closingBalance data.currency}}'],
          ],
        },
        { heading: 'Transactions' },
        { p: '{{#unless data.transactions}}There were no transactions in this period.{{/unless}}' },
        {
          list: 'data.transactions',
          item: '{{date this.date}}  {{this.description}}  {{money this.amount}}',
        },
        { heading: 'Checking your statement' },
        {
          p:
            'Please check this statement carefully. If you see a payment you do not recognise, contact us ' +
            'as soon as possible so we can investigate it.',
        },
      ],
    },
    dataSchema: schema(['accountNumber', 'periodEnd', 'closingBalance', 'currency'], {
      accountNumber,
      periodStart: date('Period start'),
      periodEnd: date('Period end'),
      openingBalance: amount('Opening balance', -1_000_000),
      closingBalance: amount('Closing balance', -1_000_000),
      currency,
      transactions: STATEMENT_TRANSACTIONS,
    }),
    sampleData: {
      accountNumber: 'GB29 CTSO 6016 1331 9268 19',
      periodStart: '2025-02-01',
      periodEnd: '2025-02-28',
      openingBalance: 1520.1,
      closingBalance: 1834.55,
      currency: 'GBP',
      transactions: [
        { date: '2025-02-03', description: 'Salary — Fabrikam Ltd', amount: 2450 },
        { date: '2025-02-05', description: 'Rent — Canal Row Lettings', amount: -1650 },
        { date: '2025-02-17', description: 'Card payment — Café Zoë', amount: -14.55 },
        { date: '2025-02-28', description: 'Interest', amount: 0.0 },
        { date: '2025-02-28', description: 'Direct debit — Northwind Assurance', amount: -471 },
      ],
    },
  },
  {
    documentType: 'billing_notice',
    name: 'Billing notice',
    channels: ['PRINT', 'EMAIL', 'MOBILE'],
    letter: {
      subject: 'Payment of {{money data.amountDue data.currency}} due on {{date data.dueDate "long"}}',
      title: 'Your payment is due',
      sections: [
        {
          p:
            'This is a reminder that a payment of {{money data.amountDue data.currency}} is due on ' +
            '{{date data.dueDate "long"}}.',
        },
        {
          facts: [
            ['Invoice number', '{{data.invoiceNumber}}'],
            ['Amount due', '{{money data.amountDue data.currency}}'],
            ['Due date', '{{date data.dueDate "long"}}'],
            ['Payment reference', '{{data.paymentReference}}'],
          ],
        },
        { heading: 'How to pay' },
        {
          p:
            'If you pay by direct debit you do not need to do anything. Otherwise please pay by bank transfer, ' +
            'quoting the payment reference above, so that we can match your payment.',
        },
        { heading: 'If you are finding it hard to pay' },
        {
          p:
            'Please talk to us as early as possible. We can discuss options such as a payment plan, and we will ' +
            'not charge you for contacting us.',
        },
      ],
      sms:
        '{{brand.name}}: {{money data.amountDue data.currency}} is due on {{date data.dueDate}} for invoice ' +
        '{{data.invoiceNumber}}. Pay ref {{data.paymentReference}}. Call us if you need help.',
    },
    dataSchema: schema(['invoiceNumber', 'amountDue', 'currency', 'dueDate', 'paymentReference'], {
      invoiceNumber: reference('Invoice number'),
      amountDue: amount('Amount due'),
      currency,
      dueDate: date('Due date'),
      paymentReference: reference('Payment reference'),
    }),
    sampleData: {
      invoiceNumber: 'INV-2025-004217',
      amountDue: 1234.5,
      currency: 'EUR',
      dueDate: '2025-03-31',
      paymentReference: 'NWA204518',
    },
  },
  {
    documentType: 'claim_letter',
    name: 'Claim decision letter',
    channels: ['PRINT', 'EMAIL'],
    letter: {
      subject: 'Our decision on your claim {{data.claimNumber}}',
      title: 'Your claim {{data.claimNumber}}',
      sections: [
        {
          p:
            'Thank you for your claim under policy {{data.policyNumber}} for the incident on ' +
            '{{date data.incidentDate "long"}}. We have now completed our assessment.',
        },
        {
          facts: [
            ['Claim number', '{{data.claimNumber}}'],
            ['Policy number', '{{data.policyNumber}}'],
            [
              'Decision',
              '{{#if (eq data.decision "ACCEPTED")}}Accepted{{/if}}{{#if (eq data.decision "PARTIALLY_ACCEPTED")}}Partly accepted{{/if}}{{#if (eq data.decision "DECLINED")}}Declined{{/if}}',
            ],
            [
              'Settlement',
              '{{#if data.settlementAmount}}{{money data.settlementAmount data.currency}}{{else}}None{{/if}}',
            ],
          ],
        },
        { heading: 'Why we reached this decision' },
        { p: '{{data.decisionReason}}' },
        {
          p:
            '{{#if data.settlementAmount}}We will pay {{money data.settlementAmount data.currency}} into your ' +
            'nominated account within 5 working days.{{/if}}',
        },
        { heading: 'If you disagree' },
        {
          p:
            'If you are unhappy with our decision, please tell us and we will review it. If you remain unhappy ' +
            'you may be able to refer your complaint to the ombudsman service free of charge.',
        },
      ],
    },
    dataSchema: schema(
      ['claimNumber', 'policyNumber', 'incidentDate', 'decision', 'decisionReason', 'currency'],
      {
        claimNumber: reference('Claim number'),
        policyNumber: reference('Policy number'),
        incidentDate: date('Incident date'),
        decision: { type: 'string', title: 'Decision', enum: ['ACCEPTED', 'PARTIALLY_ACCEPTED', 'DECLINED'] },
        settlementAmount: amount('Settlement amount'),
        currency,
        decisionReason: text('Reason for the decision', 2000),
      },
      // A settlement must be stated unless the claim is declined.
      {
        if: { properties: { decision: { const: 'DECLINED' } } },
        else: { required: ['settlementAmount'] },
      },
    ),
    sampleData: {
      claimNumber: 'CLM-88213',
      policyNumber: 'NWA-HP-204518',
      incidentDate: '2025-01-19',
      decision: 'PARTIALLY_ACCEPTED',
      settlementAmount: 3180.75,
      currency: 'EUR',
      decisionReason:
        'Your policy covers the water damage to the kitchen floor and units. The replacement boiler is not ' +
        'covered because the fault was caused by wear and tear, which your policy excludes.',
    },
  },
  {
    documentType: 'account_confirmation',
    name: 'Account opening confirmation',
    channels: ['EMAIL', 'WEB', 'MOBILE', 'PRINT'],
    letter: {
      subject: 'Welcome to {{brand.name}}: your {{data.productName}} account is open',
      title: 'Your new {{data.productName}} account',
      sections: [
        { p: 'Welcome to {{brand.name}}. Your new account is open and ready to use.' },
        {
          facts: [
            ['Product', '{{data.productName}}'],
            ['Account number', '{{data.accountNumber}}'],
            ['Sort code', '{{#if data.sortCode}}{{data.sortCode}}{{else}}Not applicable{{/if}}'],
            ['Opened on', '{{date data.openedOn "long"}}'],
            [
              'Interest rate',
              '{{#if data.interestRate includeZero=true}}{{percent data.interestRate}} a year{{else}}None{{/if}}',
            ],
          ],
        },
        { heading: 'Keeping your account safe' },
        {
          p:
            'We will never ask you for your full password, PIN or one-time codes by phone, email or text. ' +
            'If anyone does, do not reply and contact us straight away.',
        },
        { heading: 'Changing your mind' },
        {
          p:
            'You can close this account within 14 days of opening it without any charge, and we will return ' +
            'any money you have paid in, with interest.',
        },
      ],
      sms:
        '{{brand.name}}: your new {{data.productName}} account opened on {{date data.openedOn}} is ready. ' +
        'See your documents online for details.',
    },
    dataSchema: schema(['accountNumber', 'productName', 'openedOn'], {
      accountNumber,
      productName: text('Product name', 40),
      openedOn: date('Opened on'),
      sortCode: text('Sort code', 8, { pattern: '^[0-9]{2}-[0-9]{2}-[0-9]{2}$' }),
      interestRate: rate('Interest rate'),
    }),
    sampleData: {
      accountNumber: '31926819',
      productName: 'Easy Saver',
      openedOn: '2025-03-03',
      sortCode: '60-16-13',
      interestRate: 4.35,
    },
  },
  {
    documentType: 'regulatory_notice',
    name: 'Regulatory notice',
    channels: ['PRINT', 'EMAIL'],
    letter: {
      subject: 'Important information: {{data.noticeTitle}}',
      title: '{{data.noticeTitle}}',
      sections: [
        {
          p:
            'We are writing to tell you about a change that affects your {{brand.name}} products. ' +
            'It takes effect on {{date data.effectiveDate "long"}}.',
        },
        {
          facts: [
            ['Notice reference', '{{data.noticeReference}}'],
            ['Takes effect on', '{{date data.effectiveDate "long"}}'],
          ],
        },
        { heading: 'What is changing' },
        { p: '{{data.summary}}' },
        { heading: 'What you need to do' },
        {
          p: '{{#if data.actionRequired}}{{data.actionRequired}}{{else}}You do not need to do anything.{{/if}}',
        },
      ],
    },
    dataSchema: schema(['noticeTitle', 'noticeReference', 'effectiveDate', 'summary'], {
      noticeTitle: text('Notice title', 120),
      noticeReference: reference('Notice reference'),
      effectiveDate: date('Takes effect on'),
      summary: text('What is changing', 4000),
      actionRequired: text('What the customer needs to do', 2000),
    }),
    sampleData: {
      noticeTitle: 'Changes to our terms and conditions',
      noticeReference: 'RN-2025-07',
      effectiveDate: '2025-05-01',
      summary:
        'We are updating our general terms to reflect new rules on payment services. The changes clarify how ' +
        'long refunds for unauthorised payments take and how we will contact you about suspected fraud.',
    },
  },
  {
    documentType: 'dispute_acknowledgement',
    name: 'Dispute acknowledgement',
    channels: ['PRINT', 'EMAIL'],
    letter: {
      subject: 'We have received your complaint ({{data.disputeReference}})',
      title: 'We have received your complaint',
      sections: [
        {
          p:
            'Thank you for telling us about your concern{{#if case}} regarding "{{case.title}}"{{/if}}. ' +
            'We received it on {{date data.receivedOn "long"}} and we are looking into it.',
        },
        {
          facts: [
            ['Complaint reference', '{{data.disputeReference}}'],
            ['Received on', '{{date data.receivedOn "long"}}'],
            ['Transaction', '{{data.transactionDescription}}'],
            ['Amount in dispute', '{{money data.disputedAmount data.currency}}'],
            ['Final response due by', '{{date data.respondBy "long"}}'],
          ],
        },
        { heading: 'What happens next' },
        {
          p:
            'A member of our complaints team will review your complaint and may contact you for more information. ' +
            'We will send you our final response by {{date data.respondBy "long"}}, or explain why we need more time.',
        },
        {
          p:
            'If you are not happy with our final response, or we have not sent one by then, you may be able to ' +
            'refer your complaint to the ombudsman service free of charge.',
        },
      ],
    },
    dataSchema: schema(
      ['disputeReference', 'receivedOn', 'transactionDescription', 'disputedAmount', 'currency', 'respondBy'],
      {
        disputeReference: reference('Complaint reference'),
        receivedOn: date('Received on'),
        transactionDescription: text('Transaction', 120),
        disputedAmount: amount('Amount in dispute'),
        currency,
        respondBy: date('Final response due by'),
      },
    ),
    sampleData: {
      disputeReference: 'DSP-2025-0192',
      receivedOn: '2025-03-03',
      transactionDescription: 'Card payment to Wingtip Travel on 24 February 2025',
      disputedAmount: 489.99,
      currency: 'GBP',
      respondBy: '2025-04-28',
    },
  },
  {
    documentType: 'dispute_interim_update',
    name: 'Dispute interim update',
    channels: ['PRINT', 'EMAIL'],
    letter: {
      subject: 'An update on your complaint ({{data.disputeReference}})',
      title: 'An update on your complaint',
      sections: [
        {
          p:
            'We are still looking into the complaint you made on {{date data.receivedOn "long"}} and want to ' +
            'let you know where things stand.',
        },
        {
          facts: [
            ['Complaint reference', '{{data.disputeReference}}'],
            ['Received on', '{{date data.receivedOn "long"}}'],
            ['Expected final response', '{{date data.expectedResponseBy "long"}}'],
          ],
        },
        { heading: 'Progress so far' },
        { p: '{{data.progressSummary}}' },
        { heading: 'Your right to refer your complaint' },
        {
          p:
            'We are sorry this is taking longer than we hoped. Because we have not been able to send you a final ' +
            'response yet, you can refer your complaint to the ombudsman service now, free of charge, ' +
            'or wait for our response.',
        },
      ],
    },
    dataSchema: schema(['disputeReference', 'receivedOn', 'progressSummary', 'expectedResponseBy'], {
      disputeReference: reference('Complaint reference'),
      receivedOn: date('Received on'),
      progressSummary: text('Progress so far', 2000),
      expectedResponseBy: date('Expected final response'),
    }),
    sampleData: {
      disputeReference: 'DSP-2025-0192',
      receivedOn: '2025-03-03',
      progressSummary:
        'We have asked the merchant for evidence that the booking was cancelled and are waiting for their reply. ' +
        'We have temporarily refunded the disputed amount to your account while we investigate.',
      expectedResponseBy: '2025-05-12',
    },
  },
  {
    documentType: 'dispute_final_response',
    name: 'Dispute final response',
    channels: ['PRINT', 'EMAIL'],
    letter: {
      subject: 'Our final response to your complaint ({{data.disputeReference}})',
      title: 'Our final response to your complaint',
      sections: [
        {
          p:
            'We have finished investigating the complaint you made on {{date data.receivedOn "long"}}. ' +
            'This letter is our final response.',
        },
        {
          facts: [
            ['Complaint reference', '{{data.disputeReference}}'],
            [
              'Outcome',
              '{{#if (eq data.outcome "UPHELD")}}Upheld{{/if}}{{#if (eq data.outcome "PARTIALLY_UPHELD")}}Partly upheld{{/if}}{{#if (eq data.outcome "NOT_UPHELD")}}Not upheld{{/if}}',
            ],
            [
              'Redress',
              '{{#if data.redressAmount}}{{money data.redressAmount data.currency}}{{else}}None{{/if}}',
            ],
          ],
        },
        { heading: 'What we found' },
        { p: '{{data.findings}}' },
        {
          p:
            '{{#if data.redressAmount}}We will pay {{money data.redressAmount data.currency}} into your account ' +
            'within 5 working days.{{/if}}',
        },
        { heading: 'If you are not satisfied' },
        {
          p:
            'You have the right to refer your complaint to the ombudsman service, free of charge, until ' +
            '{{date data.referralDeadline "long"}}. After that date the ombudsman may not be able to consider it.',
        },
      ],
    },
    dataSchema: schema(
      ['disputeReference', 'receivedOn', 'outcome', 'findings', 'referralDeadline'],
      {
        disputeReference: reference('Complaint reference'),
        receivedOn: date('Received on'),
        outcome: { type: 'string', title: 'Outcome', enum: ['UPHELD', 'PARTIALLY_UPHELD', 'NOT_UPHELD'] },
        findings: text('What we found', 4000),
        redressAmount: amount('Redress amount'),
        currency,
        referralDeadline: date('Ombudsman referral deadline'),
      },
      // Redress must be stated, with its currency, unless the complaint is not upheld.
      {
        if: { properties: { outcome: { const: 'NOT_UPHELD' } } },
        else: { required: ['redressAmount', 'currency'] },
      },
    ),
    sampleData: {
      disputeReference: 'DSP-2025-0192',
      receivedOn: '2025-03-03',
      outcome: 'UPHELD',
      findings:
        'The merchant confirmed that your booking was cancelled before the payment was taken. The payment ' +
        'should not have been made, so we have made the temporary refund permanent and added interest.',
      redressAmount: 502.4,
      currency: 'GBP',
      referralDeadline: '2025-10-28',
    },
  },
  {
    documentType: 'rate_change_notice',
    name: 'Rate change notice',
    channels: ['PRINT', 'EMAIL', 'MOBILE'],
    letter: {
      subject: 'The interest rate on your {{data.productName}} account is changing',
      title: 'Your interest rate is changing',
      sections: [
        {
          p:
            'We are writing to tell you that the interest rate on your {{data.productName}} account ' +
            '{{data.accountNumber}} will change on {{date data.effectiveDate "long"}}.',
        },
        {
          facts: [
            ['Account', '{{data.productName}}, {{data.accountNumber}}'],
            ['Current rate', '{{percent data.currentRate}} a year'],
            ['New rate', '{{percent data.newRate}} a year'],
            ['Takes effect on', '{{date data.effectiveDate "long"}}'],
          ],
        },
        { heading: 'Why the rate is changing' },
        { p: '{{data.reason}}' },
        { heading: 'Your options' },
        {
          p:
            'You do not need to do anything. If you would rather not accept the new rate, you can switch or ' +
            'close your account without charge at any time before {{date data.effectiveDate "long"}}.',
        },
      ],
      sms:
        '{{brand.name}}: the rate on your {{data.productName}} account changes from {{percent data.currentRate}} ' +
        'to {{percent data.newRate}} on {{date data.effectiveDate}}. Details by post/email.',
    },
    dataSchema: schema(
      ['accountNumber', 'productName', 'currentRate', 'newRate', 'effectiveDate', 'reason'],
      {
        accountNumber,
        productName: text('Product name', 40),
        currentRate: rate('Current rate'),
        newRate: rate('New rate'),
        effectiveDate: date('Takes effect on'),
        reason: text('Why the rate is changing', 2000),
      },
    ),
    sampleData: {
      accountNumber: '31926819',
      productName: 'Easy Saver',
      currentRate: 4.35,
      newRate: 3.9,
      effectiveDate: '2025-05-01',
      reason: 'The Bank of England has reduced the Bank Rate, and our savings rates follow it.',
    },
  },
  {
    documentType: 'privacy_disclosure',
    name: 'Privacy notice',
    channels: ['PRINT', 'EMAIL', 'WEB'],
    letter: {
      subject: 'How {{brand.name}} uses your personal information',
      title: 'How we use your personal information',
      sections: [
        {
          p:
            'We have updated our privacy notice (version {{data.noticeVersion}}). It takes effect on ' +
            '{{date data.effectiveDate "long"}} and explains what personal information we hold about you, ' +
            'why we hold it and who we share it with.',
        },
        { heading: 'What has changed' },
        { list: 'data.changes' },
        { heading: 'Your rights' },
        {
          p:
            'You can ask for a copy of the personal information we hold about you, ask us to correct or delete ' +
            'it, or object to how we use it. To use any of these rights, contact our Data Protection Officer ' +
            'at {{data.privacyContact}}.',
        },
        {
          p:
            'If you are unhappy with how we have handled your information, you can also complain to your ' +
            'data protection supervisory authority.',
        },
      ],
    },
    dataSchema: schema(['noticeVersion', 'effectiveDate', 'changes', 'privacyContact'], {
      noticeVersion: reference('Notice version'),
      effectiveDate: date('Takes effect on'),
      changes: {
        type: 'array',
        title: 'What has changed',
        minItems: 1,
        maxItems: 20,
        items: text('Change', 300),
      },
      privacyContact: text('Data Protection Officer email', 120, { format: 'email' }),
    }),
    sampleData: {
      noticeVersion: '2025.1',
      effectiveDate: '2025-04-01',
      changes: [
        'We now use a new provider to verify your identity when you open an account.',
        'We keep call recordings for 5 years instead of 7.',
        'We explain in more detail how we use information to prevent fraud.',
      ],
      privacyContact: 'dpo@northwind-assurance.example',
    },
  },
  {
    documentType: 'duplicate_statement',
    name: 'Duplicate statement',
    channels: ['PRINT', 'EMAIL'],
    letter: {
      subject: 'Your requested copy statement for the period ending {{date data.periodEnd "long"}}',
      title: 'DUPLICATE — Account statement',
      sections: [
        {
          p:
            'As you requested on {{date data.requestedOn "long"}}, here is a copy of the statement we ' +
            'originally issued on {{date data.originalIssueDate "long"}}. It replaces nothing: your original ' +
            'statement remains valid.',
        },
        {
          facts: [
            ['Account number', '{{data.accountNumber}}'],
            [
              'Statement period',
              '{{#if data.periodStart}}{{date data.periodStart "long"}} to {{/if}}{{date data.periodEnd "long"}}',
            ],
            ['Closing balance', '{{money data.closingBalance data.currency}}'],
            ['Originally issued', '{{date data.originalIssueDate "long"}}'],
          ],
        },
        { heading: 'Transactions' },
        { p: '{{#unless data.transactions}}There were no transactions in this period.{{/unless}}' },
        {
          list: 'data.transactions',
          item: '{{date this.date}}  {{this.description}}  {{money this.amount}}',
        },
      ],
    },
    dataSchema: schema(
      ['accountNumber', 'periodEnd', 'closingBalance', 'currency', 'originalIssueDate', 'requestedOn'],
      {
        accountNumber,
        periodStart: date('Period start'),
        periodEnd: date('Period end'),
        closingBalance: amount('Closing balance', -1_000_000),
        currency,
        originalIssueDate: date('Originally issued on'),
        requestedOn: date('Copy requested on'),
        transactions: STATEMENT_TRANSACTIONS,
      },
    ),
    sampleData: {
      accountNumber: 'GB29 CTSO 6016 1331 9268 19',
      periodStart: '2024-12-01',
      periodEnd: '2024-12-31',
      closingBalance: -120.35,
      currency: 'GBP',
      originalIssueDate: '2025-01-02',
      requestedOn: '2025-03-04',
      transactions: [
        { date: '2024-12-02', description: 'Salary — Fabrikam Ltd', amount: 2450 },
        { date: '2024-12-20', description: 'Card payment — Wingtip Travel', amount: -2570.35 },
      ],
    },
  },
  {
    documentType: 'claim_intake',
    name: 'Claim acknowledgement',
    channels: ['PRINT', 'EMAIL', 'MOBILE', 'WEB'],
    letter: {
      subject: 'We have received your claim {{data.claimNumber}}',
      title: 'We have received your claim',
      sections: [
        {
          p:
            'Thank you for telling us about the incident on {{date data.incidentDate "long"}}. We have registered ' +
            'your claim under policy {{data.policyNumber}}, and {{data.handlerName}} is now handling it.',
        },
        {
          facts: [
            ['Claim number', '{{data.claimNumber}}'],
            ['Policy number', '{{data.policyNumber}}'],
            ['Incident date', '{{date data.incidentDate "long"}}'],
            ['Your claim handler', '{{data.handlerName}}'],
          ],
        },
        { heading: 'What you told us' },
        { p: '{{data.incidentSummary}}' },
        { p: CLAIM_SUMMARY_CHECK },
        { heading: 'What happens next' },
        { p: '{{data.nextSteps}}' },
        { heading: 'Helping us deal with your claim' },
        { p: CLAIM_EVIDENCE },
        {
          p:
            'Registering your claim does not mean we have accepted it. We will write to you with our decision ' +
            'once we have assessed it.',
        },
      ],
      sms:
        '{{brand.name}}: we received your claim {{data.claimNumber}} for the incident on ' +
        '{{date data.incidentDate}}. Your handler will contact you. Details by post/email.',
    },
    dataSchema: schema(CLAIM_INTAKE_REQUIRED, CLAIM_INTAKE_PROPERTIES),
    sampleData: CLAIM_INTAKE_SAMPLE,
  },
  {
    documentType: 'claim_intake_premium',
    name: 'Claim acknowledgement (premium service)',
    channels: ['PRINT', 'EMAIL', 'MOBILE', 'WEB'],
    letter: {
      subject: 'Your claim {{data.claimNumber}}: your dedicated handler is {{data.handlerName}}',
      title: 'Your claim is being looked after',
      sections: [
        {
          p:
            'We are sorry to hear about the incident on {{date data.incidentDate "long"}}, and thank you for ' +
            'letting us know so quickly. As part of your premium service, your claim has been given priority ' +
            'and {{data.handlerName}} will be your dedicated handler from start to finish.',
        },
        {
          facts: [
            ['Claim number', '{{data.claimNumber}}'],
            ['Policy number', '{{data.policyNumber}}'],
            ['Incident date', '{{date data.incidentDate "long"}}'],
            ['Your dedicated handler', '{{data.handlerName}}'],
            ['Direct line', '{{data.dedicatedHandlerPhone}}'],
          ],
        },
        { heading: 'Talking to your handler' },
        {
          p:
            'You can call {{data.handlerName}} directly on {{data.dedicatedHandlerPhone}} whenever you have a ' +
            'question, so you will not need to explain your claim again. If they are unavailable, a colleague ' +
            'from the same team will help you.',
        },
        { heading: 'What you told us' },
        { p: '{{data.incidentSummary}}' },
        { p: CLAIM_SUMMARY_CHECK },
        { heading: 'What happens next' },
        { p: '{{data.nextSteps}}' },
        { heading: 'Helping us deal with your claim' },
        { p: CLAIM_EVIDENCE },
        {
          p:
            'Registering your claim does not mean we have accepted it. {{data.handlerName}} will write to you ' +
            'with our decision once we have assessed it.',
        },
      ],
      sms:
        "{{brand.name}}: we're sorry about your incident. Claim {{data.claimNumber}} has priority: call your " +
        'dedicated handler direct on {{data.dedicatedHandlerPhone}}.',
    },
    dataSchema: schema([...CLAIM_INTAKE_REQUIRED, 'dedicatedHandlerPhone'], {
      ...CLAIM_INTAKE_PROPERTIES,
      dedicatedHandlerPhone: text('Dedicated handler phone', 20, {
        description: 'A direct line in international format, e.g. +44 20 7946 0831',
        pattern: '^\\+?[0-9][0-9 ]*$',
      }),
    }),
    sampleData: { ...CLAIM_INTAKE_SAMPLE, dedicatedHandlerPhone: '+44 20 7946 0831' },
  },
  {
    documentType: 'underwriting_review',
    name: 'Underwriting review notice',
    channels: ['PRINT', 'EMAIL', 'WEB'],
    letter: {
      subject: 'Your {{data.productName}} application is being reviewed ({{data.applicationReference}})',
      title: 'Your application is being reviewed',
      sections: [
        {
          p:
            'Thank you for applying for {{data.productName}}. Your application is now with our underwriting ' +
            'team, who will assess the information you have given us to decide whether we can offer it to you ' +
            'and on what terms.',
        },
        {
          facts: [
            ['Application reference', '{{data.applicationReference}}'],
            ['Product', '{{data.productName}}'],
            ['Decision expected by', '{{date data.expectedDecisionBy "long"}}'],
          ],
        },
        { heading: 'Documents we need from you' },
        {
          p:
            '{{#if data.documentsRequested}}To complete our review we need the documents listed below. Please ' +
            'send them as soon as you can, quoting your application reference {{data.applicationReference}}. ' +
            'We cannot make a decision until we have them.{{else}}We have everything we need from you at the ' +
            'moment. We will contact you if that changes.{{/if}}',
        },
        { list: 'data.documentsRequested' },
        { heading: 'While we review your application' },
        {
          p:
            'We expect to give you our decision by {{date data.expectedDecisionBy "long"}}' +
            '{{#if data.documentsRequested}}, provided we receive the documents above in good time{{/if}}. ' +
            'Please tell us straight away if any information in your application changes or turns out to be ' +
            'incorrect, because our decision is based on it.',
        },
        {
          p:
            'Until we confirm our decision in writing, {{data.productName}} is not in place. Please do not ' +
            'cancel any existing cover or arrangements before then.',
        },
      ],
    },
    dataSchema: schema(['applicationReference', 'productName', 'expectedDecisionBy', 'documentsRequested'], {
      applicationReference: reference('Application reference'),
      productName: text('Product name', 60),
      expectedDecisionBy: date('Decision expected by'),
      // Required even when empty, so that "we need nothing from you" is stated, never assumed.
      documentsRequested: {
        type: 'array',
        title: 'Documents requested',
        description: 'Leave empty if nothing is needed from the customer',
        maxItems: 20,
        items: text('Document', 200),
      },
    }),
    sampleData: {
      applicationReference: 'UW-2025-31877',
      productName: 'Life Protect',
      expectedDecisionBy: '2025-04-11',
      documentsRequested: [
        'A copy of your most recent payslip or, if you are self-employed, your last tax return',
        'The contact details of your GP, so that we can ask for a short medical report with your consent',
      ],
    },
  },
  {
    documentType: 'service_escalation',
    name: 'Service escalation notice',
    channels: ['PRINT', 'EMAIL', 'MOBILE'],
    letter: {
      subject: 'Your case {{data.caseReference}} has been escalated',
      title: 'We have escalated your case',
      sections: [
        {
          p:
            'We are sorry that your issue has not yet been resolved. We have passed your case to a more senior ' +
            'team, {{data.escalatedTo}}, who will take it from here.',
        },
        {
          facts: [
            ['Case reference', '{{data.caseReference}}'],
            ['Now handled by', '{{data.escalatedTo}}'],
            ['We will respond by', '{{date data.respondBy "long"}}'],
          ],
        },
        { heading: 'Why we have escalated your case' },
        { p: '{{data.reason}}' },
        { heading: 'What happens next' },
        {
          p:
            '{{data.escalatedTo}} will review everything that has happened so far and contact you by ' +
            '{{date data.respondBy "long"}}. You do not need to repeat what you have already told us, but if ' +
            'anything new comes up, please contact us quoting case reference {{data.caseReference}}.',
        },
        { heading: 'Your right to complain' },
        {
          p:
            'If you are unhappy with how we have handled your issue, you can make a formal complaint at any time. ' +
            'Escalating your case does not affect that right, or your right to refer a complaint to the ' +
            'ombudsman service free of charge.',
        },
      ],
      sms:
        '{{brand.name}}: we have passed your case {{data.caseReference}} to a senior team, who will respond by ' +
        '{{date data.respondBy}}. Details by post/email.',
    },
    dataSchema: schema(['caseReference', 'escalatedTo', 'reason', 'respondBy'], {
      caseReference: reference('Case reference'),
      escalatedTo: text('Escalated to', 80, { description: 'The senior team, e.g. Customer Relations' }),
      reason: text('Why it was escalated', 2000),
      respondBy: date('We will respond by'),
    }),
    sampleData: {
      caseReference: 'SRV-2025-11408',
      escalatedTo: 'Customer Relations',
      reason:
        'Your request to change the payment date on your policy has been outstanding for three weeks, and you ' +
        'have had to contact us several times about it. That is not the service we aim to give.',
      respondBy: '2025-03-14',
    },
  },
  {
    documentType: 'payment_confirmation',
    name: 'Payment confirmation',
    channels: ['PRINT', 'EMAIL', 'MOBILE', 'WEB'],
    letter: {
      subject: 'We have paid you {{money data.amount data.currency}} ({{data.paymentReference}})',
      title: 'Confirmation of your payment',
      sections: [
        {
          p:
            'We are writing to confirm that on {{date data.paidOn "long"}} we made a payment to you of ' +
            '{{money data.amount data.currency}}, relating to {{data.relatedReference}}.',
        },
        {
          facts: [
            ['Payment reference', '{{data.paymentReference}}'],
            ['Amount paid', '{{money data.amount data.currency}}'],
            ['Paid on', '{{date data.paidOn "long"}}'],
            ['Payment method', '{{data.paymentMethod}}'],
            ['Relating to', '{{data.relatedReference}}'],
          ],
        },
        { heading: 'When you will receive it' },
        {
          p:
            'Depending on the payment method and your bank, it may take a few working days for the money to ' +
            'reach you. If you have not received it within 10 working days, please contact us, quoting payment ' +
            'reference {{data.paymentReference}}.',
        },
        { heading: 'If something is not right' },
        {
          p:
            'If the amount is not what you expected, or you do not recognise this payment, please tell us as ' +
            'soon as possible. Please keep this confirmation for your records.',
        },
      ],
      sms:
        '{{brand.name}}: we paid you {{money data.amount data.currency}} on {{date data.paidOn}} for ' +
        '{{data.relatedReference}}, ref {{data.paymentReference}}. Details by post/email.',
    },
    dataSchema: schema(
      ['paymentReference', 'amount', 'currency', 'paidOn', 'paymentMethod', 'relatedReference'],
      {
        paymentReference: reference('Payment reference'),
        amount: { type: 'number', title: 'Amount paid', exclusiveMinimum: 0, maximum: 1_000_000 },
        currency,
        paidOn: date('Paid on'),
        paymentMethod: text('Payment method', 80, {
          description: 'How it was paid, e.g. Bank transfer to the account ending 4821',
        }),
        relatedReference: reference('Claim or policy number'),
      },
    ),
    sampleData: {
      paymentReference: 'PAY-2025-550912',
      amount: 3180.75,
      currency: 'EUR',
      paidOn: '2025-03-07',
      paymentMethod: 'Bank transfer to the account ending 4821',
      relatedReference: 'CLM-88213',
    },
  },
];

export const SEED_TEMPLATES: SeedTemplate[] = DEFINITIONS.map((d) => ({
  id: `tpl_${d.documentType}`,
  name: d.name,
  documentType: d.documentType,
  channels: d.channels,
  content: contentFor(d.letter, d.channels),
  dataSchema: d.dataSchema,
  sampleData: d.sampleData,
}));
