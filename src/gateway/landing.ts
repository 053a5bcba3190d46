import type { ApolloServerPlugin } from '@apollo/server';

/**
 * Apollo Sandbox, embedded, pointed at this server for queries and at the
 * same URL over graphql-ws for subscriptions. Apollo's default landing page
 * cannot set the subscription endpoint, so this renders the same embed with
 * `initialSubscriptionEndpoint`. The browser loads Sandbox itself from
 * Apollo's CDN; the server downloads nothing.
 */
export function sandboxLandingPage(opts: { title: string }): ApolloServerPlugin {
  return {
    async serverWillStart() {
      return {
        async renderLandingPage() {
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
  <title>${opts.title}</title>
  <style>
    html, body { margin: 0; height: 100%; font-family: sans-serif; }
    #sandbox { position: absolute; inset: 0; }
    .fallback { padding: 2rem; }
  </style>
</head>
<body>
  <div class="fallback">
    <h1>${opts.title}</h1>
    <p>Apollo Sandbox could not be loaded (it comes from Apollo's CDN). The API is at this URL:
      POST GraphQL over HTTP, subscriptions over graphql-ws (graphql-transport-ws).</p>
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
          return { html };
        },
      };
    },
  };
}
