/**
 * Bundles the dashboard (src/ui) into dist/ui with esbuild: one minified, content-hashed script and
 * stylesheet, and an index.html naming them. No CDN, nothing fetched at build or run time.
 * `npm run build` and `npm run prepare` run it after tsc; tests call `buildUi()` directly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const ROOT = path.resolve(__dirname, '..');

export async function buildUi(outDir = path.join(ROOT, 'dist', 'ui')): Promise<{ dir: string; bytes: number; files: string[] }> {
  // Build into a fresh folder next to the target, then swap: a running berth never sees half a build.
  const tmp = `${outDir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const result = await build({
    entryPoints: [path.join(ROOT, 'src/ui/main.ts'), path.join(ROOT, 'src/ui/styles.css')],
    outdir: tmp,
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => path.basename(p));
  const js = outputs.find((n) => n.startsWith('main-') && n.endsWith('.js'));
  const css = outputs.find((n) => n.startsWith('styles-') && n.endsWith('.css'));
  if (!js || !css) throw new Error(`unexpected esbuild outputs: ${outputs.join(', ')}`);
  const html = fs.readFileSync(path.join(ROOT, 'src/ui/index.html'), 'utf8').replace('%SCRIPT%', js).replace('%STYLES%', css);
  fs.writeFileSync(path.join(tmp, 'index.html'), html);
  fs.copyFileSync(path.join(ROOT, 'src/ui/favicon.svg'), path.join(tmp, 'favicon.svg'));
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(outDir), { recursive: true });
  fs.renameSync(tmp, outDir);
  const files = fs.readdirSync(outDir);
  const bytes = files.reduce((sum, f) => sum + fs.statSync(path.join(outDir, f)).size, 0);
  return { dir: outDir, bytes, files };
}

if (require.main === module) {
  buildUi(process.argv[2] ? path.resolve(process.argv[2]) : undefined).then(
    (r) => process.stdout.write(`dashboard: ${r.files.join(', ')} (${(r.bytes / 1024).toFixed(1)} KiB) in ${path.relative(process.cwd(), r.dir)}\n`),
    (err: Error) => {
      process.stderr.write(`dashboard build failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}
