// Validates the OpenAPI document on stdin with @apidevtools/swagger-parser and prints {"ok", "errors"}.
// A child process because the validator loads ES modules, which Jest's CommonJS runtime cannot require.
const SwaggerParser = require('@apidevtools/swagger-parser');

let text = '';
process.stdin.on('data', (d) => (text += d));
process.stdin.on('end', async () => {
  try {
    await SwaggerParser.validate(JSON.parse(text));
    process.stdout.write(JSON.stringify({ ok: true, errors: [] }));
  } catch (err) {
    process.stdout.write(JSON.stringify({ ok: false, errors: String(err.message).split('\n') }));
  }
});
