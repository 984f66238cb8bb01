// Used by `nest build --webpack`: each *.tasks.ts file below src/ becomes a
// bundle entry of its own, emitted where tsc would put it (dist/hash/hash.tasks.js).
const { withTasksEntries } = require('nestjs-worker/webpack');

module.exports = (options) => withTasksEntries(options);
