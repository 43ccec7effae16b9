// tus-js-client (vendored, see scripts/vendor.py) ships a browser bundle in UMD form, not an ES module:
// importing it runs it once, it sets globalThis.tus, and this module hands its API on to the page modules.
import "../vendor/tus-js-client-4.3.1/tus.min.js";

const { Upload, isSupported } = globalThis.tus;
export { Upload, isSupported };
