// Seals one namespace-wide value with the npm package @linode/kubeseal-encrypt
// (WebCrypto), a third independent implementation for hush's interop tests.
// Usage: node kubeseal_encrypt.mjs MODULE_DIR PUBLIC_KEY_PEM_FILE NAMESPACE VALUE
// Prints the base64 ciphertext. Exit status 3: the package is missing.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [moduleDir, pemFile, namespace, value] = process.argv.slice(2);
const entry = join(moduleDir, "node_modules/@linode/kubeseal-encrypt/dist/index.js");
let library;
try {
  library = await import(pathToFileURL(entry).href);
} catch (error) {
  console.error(`missing @linode/kubeseal-encrypt under ${moduleDir}: ${error.message}`);
  process.exit(3);
}
const sealed = await library.encryptSecretItem(readFileSync(pemFile, "utf8"), namespace, value);
process.stdout.write(sealed);
