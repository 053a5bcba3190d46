import type { Brand } from './types.js';

/** The two demo brands; fictional companies, registration numbers and addresses. */
export const BRANDS: Record<string, Brand> = Object.freeze({
  northwind: Object.freeze({
    id: 'northwind',
    name: 'Northwind Assurance',
    primaryColour: '#1F4E79',
    logoText: 'NORTHWIND ASSURANCE',
    senderName: 'Northwind Assurance Customer Care',
    senderEmail: 'care@northwind-assurance.example',
    footer:
      'Northwind Assurance DAC is regulated by the Central Bank of Ireland. Registered in Ireland No. 612345. ' +
      'Registered office: 4 Harbour Square, Dublin 2, D02 XK83.',
  }),
  contoso: Object.freeze({
    id: 'contoso',
    name: 'Contoso Bank',
    primaryColour: '#7A1F5C',
    logoText: 'CONTOSO BANK',
    senderName: 'Contoso Bank Customer Service',
    senderEmail: 'no-reply@contoso-bank.example',
    footer:
      'Contoso Bank plc is authorised by the Prudential Regulation Authority and regulated by the Financial Conduct ' +
      'Authority and the Prudential Regulation Authority (FRN 700123). Registered in England and Wales No. 09876543.',
  }),
});
