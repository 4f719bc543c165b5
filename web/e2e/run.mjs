// Runs the end-to-end suites one after another (they share the machine
// with other tests; one browser at a time keeps them bounded and stable).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const only = process.argv.slice(2);
const files = readdirSync('e2e').filter((f) => f.endsWith('.test.mjs')).filter((f) => !only.length || only.some((o) => f.includes(o))).sort();
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files.map((f) => `e2e/${f}`)], {
  stdio: 'inherit',
  timeout: 15 * 60_000,
});
process.exit(r.status ?? 1);
