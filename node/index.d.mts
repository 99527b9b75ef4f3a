// Types of the ESM entry (index.mjs): the same names as the CommonJS module, plus the
// module itself as the default export.
import * as qtag from './index.js';

export * from './index.js';
export default qtag;
