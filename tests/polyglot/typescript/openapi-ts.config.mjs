// @hey-api/openapi-ts, run by run.sh from $POLYGLOT_WORK (where this file is copied), with the
// spec given as `-i`.
// The fetch client is the generator's default plugin (`@hey-api/client-fetch`), bundled into the
// output: no runtime package to install.
export default {
  output: {
    path: 'generated/hey-api',
    // The flow is compiled as NodeNext ES modules, whose relative imports need the extension.
    module: { extension: '.js' },
    tsConfigPath: './tsconfig.json',
  },
  plugins: ['@hey-api/client-fetch', '@hey-api/typescript', '@hey-api/sdk'],
};
