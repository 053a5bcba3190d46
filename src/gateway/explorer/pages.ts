import { createHash } from 'node:crypto';

/**
 * The HTML of the explorer's pages. Each comes with the Content-Security-Policy
 * it was written for: the GraphiQL page may load and connect to its own origin
 * only; the page shown where introspection is off runs no script at all.
 */

export interface Page {
  status: number;
  html: string;
  csp: string;
}

/** Text into HTML (element content and quoted attribute values). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const TOKEN_COMMAND = 'npm run --silent token -- --sub NAME --roles ROLE';

/** The directives every page shares: nothing by default, never framed, no <base>, no form posts. */
const BASE_CSP = ["default-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"];

/**
 * The WebSocket origins of the page's own host. CSP 3 lets 'self' cover ws:
 * and wss: on the same host, but older Safari releases do not, so they are
 * named; a Host header that is not a plain host[:port] is left out.
 */
function socketSources(host: string | undefined): string[] {
  return host && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host)
    ? [`ws://${host}`, `wss://${host}`]
    : [];
}

export function graphiqlCsp(host: string | undefined): string {
  return [
    ...BASE_CSP,
    "script-src 'self'",
    // Monaco's language services run in workers bundled beside the page's script.
    "worker-src 'self'",
    ['connect-src', "'self'", ...socketSources(host)].join(' '),
    // The stylesheets are files, but GraphiQL's components and Monaco also style from script:
    // style attributes and <style> elements (Monaco's themes and decorations), which neither a
    // nonce nor a hash can admit. Without this the editors render broken. Styles run no code;
    // scripts stay 'self' only.
    "style-src 'self' 'unsafe-inline'",
    // GraphiQL's stylesheet carries its fonts inline (data: URLs); icons are inline SVG.
    "font-src 'self' data:",
    "img-src 'self' data:",
  ].join('; ');
}

/**
 * GraphiQL: the page is a shell; the bundled module script mounts GraphiQL
 * into #graphiql. Nothing here is inline script: the page has no
 * configuration to pass (the script reads its endpoint from its own URL).
 */
export function graphiqlPage(opts: {
  title: string;
  /** Paths of the hashed stylesheet and module script, relative to the page. */
  style: string;
  script: string;
  tokenHint: boolean;
  host: string | undefined;
}): Page {
  const hint = opts.tokenHint
    ? `
    <p class="explorer-hint" id="token-hint">Development server: <code>${escapeHtml(TOKEN_COMMAND)}</code> prints a
      token; put it after <code>Bearer </code> in <b>Headers</b> below.</p>`
    : '';
  const html = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${escapeHtml(opts.title)}</title>
    <!-- No icon: otherwise the browser asks for /favicon.ico, which the API does not have. -->
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="${escapeHtml(opts.style)}" />
    <script type="module" src="${escapeHtml(opts.script)}"></script>
  </head>
  <body>
    <div class="explorer">${hint}
      <div class="explorer-graphiql" id="graphiql">
        <noscript>GraphiQL needs JavaScript. The API answers GraphQL over HTTP (POST) at this URL,
          and subscriptions over graphql-ws on the same URL.</noscript>
      </div>
    </div>
  </body>
</html>
`;
  return { status: 200, html, csp: graphiqlCsp(opts.host) };
}

/** A page with no script: its one inline stylesheet is admitted by hash. */
function staticPage(status: number, title: string, body: string): Page {
  const style =
    'body{font:1rem/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}' +
    'code{font-family:ui-monospace,monospace;background:#f3f3f3;padding:0 .2em}';
  const hash = createHash('sha256').update(style).digest('base64');
  const html = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${escapeHtml(title)}</title>
    <style>${style}</style>
  </head>
  <body>
    <h1>${escapeHtml(title)}</h1>
${body}
  </body>
</html>
`;
  return { status, html, csp: [...BASE_CSP, `style-src 'sha256-${hash}'`].join('; ') };
}

const API_LINE = `    <p>This URL is a GraphQL API: queries and mutations over HTTP (POST), subscriptions over graphql-ws
      (<code>graphql-transport-ws</code>) on the same URL, each with <code>Authorization: Bearer &lt;token&gt;</code>
      (for graphql-ws, in the connection params).</p>`;

/**
 * Where introspection is off (production's default), an explorer could not
 * load the schema, and serving it the schema some other way would undo the
 * setting: the page says so and where the schema is published instead.
 */
export function introspectionOffPage(title: string): Page {
  return staticPage(
    200,
    title,
    `${API_LINE}
    <p>The explorer is off here because <b>introspection is off</b> (<code>INTROSPECTION=false</code>, the default
      with <code>NODE_ENV=production</code>): this server does not describe its schema to callers.</p>
    <h2>Getting the schema (SDL)</h2>
    <ul>
      <li>It is committed with the source code, in <code>src/schema/sdl/</code>: <code>api.graphql</code> is the
        schema clients see, <code>supergraph.graphql</code> the composed supergraph (for a federation router), and
        one file per subgraph. <code>npm run schema:print</code> writes them anew from the code.</li>
      <li>Ask the team that runs this gateway for the files of the version deployed here.</li>
    </ul>
    <p>Where showing the schema is acceptable (a test environment), <code>INTROSPECTION=true</code> turns
      introspection, and with it this explorer, on.</p>`,
  );
}

/** GraphiQL is chosen but `npm run build` has not bundled it: an install fault, said plainly. */
export function assetsMissingPage(title: string): Page {
  return staticPage(
    503,
    title,
    `${API_LINE}
    <p>The API explorer (GraphiQL) is not built on this installation: its files are bundled into
      <code>dist/explorer</code> by <code>npm run build</code> (which <code>npm ci</code> runs). Build, then
      restart the server.</p>`,
  );
}

/**
 * Apollo Sandbox, for those who set EXPLORER=sandbox: Apollo's embed, loaded
 * by the browser from Apollo's CDN (so it needs internet access), pointed at
 * this URL for queries and over graphql-ws for subscriptions. Apollo's own
 * landing page cannot set the subscription endpoint, hence this page. Its
 * scripts and frames come from Apollo's hosts, which this server cannot vouch
 * for or list for good, so the page restricts only being framed.
 */
export function sandboxPage(title: string): Page {
  const config = {
    target: '#sandbox',
    endpointIsEditable: false,
    initialState: { pollForSchemaUpdates: false, includeCookies: false },
    hideCookieToggle: true,
    runTelemetry: false,
    allowDynamicStyles: false,
  };
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>${escapeHtml(title)}</title>
  <style>
    html, body { margin: 0; height: 100%; font-family: sans-serif; }
    #sandbox { position: absolute; inset: 0; }
    .fallback { padding: 2rem; }
  </style>
</head>
<body>
  <div class="fallback">
    <h1>${escapeHtml(title)}</h1>
    <p>Apollo Sandbox could not be loaded (it comes from Apollo's CDN; EXPLORER=graphiql serves an explorer that
      needs no internet access). The API is at this URL: POST GraphQL over HTTP, subscriptions over graphql-ws
      (graphql-transport-ws).</p>
  </div>
  <div id="sandbox"></div>
  <script src="https://embeddable-sandbox.cdn.apollographql.com/_latest/embeddable-sandbox.umd.production.min.js"></script>
  <script>
    var endpoint = window.location.href.split('?')[0];
    new window.EmbeddedSandbox(Object.assign(${JSON.stringify(config)}, {
      initialEndpoint: endpoint,
      initialSubscriptionEndpoint: endpoint.replace(/^http/, 'ws'),
    }));
  </script>
</body>
</html>`;
  return { status: 200, html, csp: "frame-ancestors 'none'" };
}
