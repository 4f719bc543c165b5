// Generates the typed websocket protocol client (src/proto/) from the
// server's .proto files (../proto) with ts-proto, run by Debian's protoc.
// The output is committed, so building the UI needs no protoc;
// `--check` (run by `make test`) fails if it is stale.
//
//   node scripts/gen-proto.mjs [--check] [--proto-dir DIR]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, existsSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const args = process.argv.slice(2);
const check = args.includes('--check');
const dirArg = args.indexOf('--proto-dir');
const protoDir = resolve(dirArg >= 0 ? args[dirArg + 1] : '../proto');
const outDir = resolve('src/proto');
const wellKnown = '/usr/include';

// Only what the browser speaks: the websocket commands and what they carry.
const files = ['client.proto', 'common.proto'];

// JSON only (the websocket carries protobuf JSON); oneofs as optional
// properties, the shape Clapshot's client gave organizer scripts.
const opts = [
  'outputEncodeMethods=false',
  'outputJsonMethods=true',
  'outputPartialMethods=false',
  'outputServices=false',
  'outputTypeRegistry=false',
  'useDate=true',
  'esModuleInterop=true',
  'exportCommonSymbols=false',
  'useExactTypes=false',
  'env=browser',
  'forceLong=number',
];

for (const f of files) {
  if (!existsSync(join(protoDir, f))) {
    console.error(`gen-proto: ${join(protoDir, f)} not found (give --proto-dir)`);
    process.exit(1);
  }
}
if (!existsSync(join(wellKnown, 'google/protobuf/timestamp.proto'))) {
  console.error('gen-proto: google/protobuf/timestamp.proto missing; apt-get install libprotobuf-dev');
  process.exit(1);
}

const tmp = mkdtempSync(join(tmpdir(), 'clapshot-proto-'));
try {
  execFileSync('protoc', [
    `--plugin=protoc-gen-ts_proto=${resolve('node_modules/.bin/protoc-gen-ts_proto')}`,
    `--ts_proto_out=${tmp}`,
    ...opts.map((o) => `--ts_proto_opt=${o}`),
    `-I${protoDir}`,
    `-I${wellKnown}`,
    ...files,
  ], { stdio: 'inherit' });

  const list = (dir) => {
    const out = [];
    const walk = (d) => {
      for (const e of readdirSync(d)) {
        const p = join(d, e);
        if (statSync(p).isDirectory()) walk(p);
        else out.push(relative(dir, p));
      }
    };
    if (existsSync(dir)) walk(dir);
    return out.sort();
  };

  if (check) {
    const want = list(tmp);
    const have = list(outDir);
    const stale = want.filter((f) => !have.includes(f) || readFileSync(join(tmp, f), 'utf8') !== readFileSync(join(outDir, f), 'utf8'));
    const extra = have.filter((f) => !want.includes(f));
    if (stale.length || extra.length) {
      console.error(`gen-proto: web/src/proto is stale against ${protoDir}: ${[...stale, ...extra].join(', ')}`);
      console.error('Run `cd web && npm run proto` and commit the result.');
      process.exit(1);
    }
    console.log(`gen-proto: web/src/proto is up to date (${want.length} files)`);
  } else {
    rmSync(outDir, { recursive: true, force: true });
    cpSync(tmp, outDir, { recursive: true });
    console.log(`gen-proto: wrote ${list(outDir).length} files to src/proto`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
