// The policy lives in src/policy so schema classes can name it too; resolvers import it from here.
export * from '../policy/index.js';
