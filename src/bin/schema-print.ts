import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { SDL_DIR, sdlFiles } from '../gateway/sdl.js';
import { configureLogger } from '../logger.js';

/** `npm run schema:print`: writes the subgraph, supergraph and API SDL under src/schema/sdl. */
async function main(): Promise<void> {
  configureLogger({ level: 'error' });
  const dir = path.resolve(SDL_DIR);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(await sdlFiles())) {
    fs.writeFileSync(path.join(dir, name), text);
    console.log(`wrote ${path.join(SDL_DIR, name)}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
