// Monaco's worker setup first: the editors start their workers as they mount.
import './workers.js';
import { GraphiQL } from 'graphiql';
import { createRoot } from 'react-dom/client';
import { explorerFetcher } from './fetcher.js';
import { tokenFreeStorage } from './storage.js';
import 'graphiql/style.css';
import './explorer.css';

const DEFAULT_QUERY = `# CommsGraph API explorer (GraphiQL)
#
# Put a token after "Bearer " in Headers below:
# every operation needs one, except
# introspection and __typename.
#
# Subscriptions go over graphql-ws to this same
# URL, with that Authorization header sent in
# the connection params.
#
# Run with Ctrl-Enter or the play button.

query Templates {
  templates {
    id
    name
    channels
  }
}
`;

/** Pretty-printed, as the headers editor shows JSON. */
const DEFAULT_HEADERS = JSON.stringify({ Authorization: 'Bearer ' }, null, 2);

// The page's own URL, without its query string: HTTP and graphql-ws share it.
const endpoint = `${window.location.origin}${window.location.pathname}`;
const fetcher = explorerFetcher(endpoint, endpoint.replace(/^http/, 'ws'));

const container = document.getElementById('graphiql');
if (!container) throw new Error('the explorer page has no #graphiql element');
createRoot(container).render(
  <GraphiQL
    fetcher={fetcher}
    defaultQuery={DEFAULT_QUERY}
    defaultHeaders={DEFAULT_HEADERS}
    defaultEditorToolsVisibility="headers"
    // Tokens stay out of localStorage: not in the tabs, and cut from the query history.
    shouldPersistHeaders={false}
    storage={tokenFreeStorage()}
  />,
);
