// Used by `nest build --builder rspack` (the Nest 12 CLI bundles ES module
// apps with rspack): each *.tasks.ts file below src/ becomes a bundle entry of
// its own, emitted where tsc would put it (dist/hash/hash.tasks.js).
import { withTasksEntries } from 'nestjs-worker/webpack';

export default (options) => withTasksEntries(options);
