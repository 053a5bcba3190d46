/**
 * Monaco (GraphiQL's editor) runs its language services in web workers. They
 * are bundled beside this script (src/bin/build-explorer.ts puts their
 * hashed names in EXPLORER_WORKERS) and started from the same origin: no
 * worker comes from a CDN or a blob.
 */
declare const EXPLORER_WORKERS: { editor: string; json: string; graphql: string };

function start(file: string, label: string): Worker {
  return new Worker(new URL(file, import.meta.url), { name: label });
}

(globalThis as { MonacoEnvironment?: unknown }).MonacoEnvironment = {
  getWorker(_workerId: string, label: string): Worker {
    switch (label) {
      case 'json':
        return start(EXPLORER_WORKERS.json, label);
      case 'graphql':
        return start(EXPLORER_WORKERS.graphql, label);
      default:
        return start(EXPLORER_WORKERS.editor, label);
    }
  },
};
