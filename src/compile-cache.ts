/**
 * Node's on-disk compile cache (issue 13, item 4: a restart ready in 3 s). Loading the modules a
 * start needs is about a third of its CPU time, much of it V8 compiling the same JavaScript as
 * the last start did; with the cache, V8 reads the compiled code back instead. Imported first by
 * the entry points (before anything else is required), so it covers our code and the
 * dependencies alike.
 *
 * Safe by construction: Node keys each entry by the source's hash and its own version, so an
 * edited file or another Node is compiled afresh and never served stale code; a cache that cannot
 * be read or written only means compiling as before. The directory is Node's default
 * (NODE_COMPILE_CACHE, or `node-compile-cache` in the OS temporary directory);
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 */
import module from 'node:module';

module.enableCompileCache();

/**
 * Writes what was compiled so far now rather than at exit, so that a process stopped without an
 * exit (SIGKILL, a crash) still leaves the cache for the next start. Called once the server is
 * ready: the write is then off the path to ready.
 */
export function persistCompileCache(): void {
  module.flushCompileCache();
}
