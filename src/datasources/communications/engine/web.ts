import type { Brand } from './types.js';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#x27;',
  '`': '&#x60;',
  '=': '&#x3D;',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`=]/g, (c) => ESCAPES[c]);
}

/** True when a WEB template already supplies a whole document rather than the page's content. */
export function isFullHtmlDocument(html: string): boolean {
  return /^\s*(<!doctype\s|<html[\s>])/i.test(html);
}

/**
 * The branded shell around a WEB document's content. The page is served to a signed-in customer,
 * so it is kept out of search indexes and allowed no scripts or outside resources.
 */
export function webPage(opts: { brand: Brand; locale: string; title: string; body: string }): string {
  const { brand } = opts;
  const colour = escapeHtml(brand.primaryColour);
  return `<!DOCTYPE html>
<html lang="${escapeHtml(opts.locale)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(opts.title)}</title>
<style>
body{margin:0;background:#f4f4f4;color:#1a1a1a;font-family:"DejaVu Sans",system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;line-height:1.55}
header{background:${colour};color:#fff;padding:18px 24px}
header .logo{font-weight:700;letter-spacing:.08em}
header .sender{float:right;font-size:13px;opacity:.85}
main{max-width:720px;margin:24px auto;background:#fff;padding:32px;border-top:4px solid ${colour}}
h1,h2,h3{color:${colour};line-height:1.25}
table.facts{border-collapse:collapse;width:100%;margin:16px 0}
table.facts th,table.facts td{padding:8px 0;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
table.facts th{color:#555;font-weight:normal;width:45%}
footer{max-width:720px;margin:0 auto 32px;padding:0 32px;font-size:12px;color:#666}
</style>
</head>
<body>
<header><span class="logo">${escapeHtml(brand.logoText)}</span><span class="sender">${escapeHtml(brand.senderName)}</span></header>
<main>
${opts.body}
</main>
<footer><p>${escapeHtml(brand.footer)}</p></footer>
</body>
</html>
`;
}
