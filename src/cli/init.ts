/**
 * `sagalane init <dir>`: scaffolds a project of the user's own from examples/support-ticket (shipped in the package):
 * one saga (its steps, workflow, catalog entry and handlers), `npm start` running `sagalane dev` with that catalog
 * (SAGALANE_SAGAS), and an end-to-end test against a real dev server (`npm test`). The project depends on the sagalane
 * that ran `init` (a `file:` dependency on its folder), or on `--sagalane <spec>` (a packed tarball, a version).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';

/** The package's root: src/cli and dist/cli are both two levels below it. */
const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');
export const INIT_TEMPLATE = path.join(PACKAGE_ROOT, 'examples', 'support-ticket');
/** Never copied: what a build, an install or a run of the template leaves behind. */
const SKIPPED = new Set(['node_modules', 'dist', 'outbox', 'package-lock.json']);

export interface InitOptions {
  /** The `sagalane` dependency to write. @defaultValue `file:<this sagalane's folder>` */
  sagalane?: string;
}

/** Writes the project into `dir` (created; it must be empty or absent). Returns the files written. */
export function scaffoldProject(dir: string, options: InitOptions = {}): string[] {
  const target = path.resolve(dir);
  if (fs.existsSync(target) && fs.readdirSync(target).length > 0)
    throw new Error(`${target} is not empty: give init a new or empty folder`);
  if (!fs.existsSync(path.join(INIT_TEMPLATE, 'package.json')))
    throw new Error(`the project template is missing from this sagalane (${INIT_TEMPLATE})`);
  const name = path
    .basename(target)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!name) throw new Error(`cannot make a package name of ${JSON.stringify(path.basename(target))}`);
  const written: string[] = [];
  const copy = (from: string, to: string) => {
    fs.mkdirSync(to, { recursive: true });
    for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
      if (SKIPPED.has(entry.name)) continue;
      const src = path.join(from, entry.name);
      const dst = path.join(to, entry.name);
      if (entry.isDirectory()) copy(src, dst);
      else {
        fs.copyFileSync(src, dst);
        written.push(path.relative(target, dst));
      }
    }
  };
  copy(INIT_TEMPLATE, target);
  const manifestPath = path.join(target, 'package.json');
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as {
    name: string;
    description?: string;
    dependencies: Record<string, string>;
  };
  manifest.name = name;
  const dependency = options.sagalane ?? `file:${PACKAGE_ROOT}`;
  manifest.dependencies.sagalane = dependency;
  fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  // npm links a `file:` folder without installing its dependencies (the workflow bundler then cannot find
  // @temporalio/workflow); install-links makes npm install it as it would a package.
  if (isFolderDependency(dependency)) {
    fs.writeFileSync(path.join(target, '.npmrc'), 'install-links=true\n');
    written.push('.npmrc');
  }
  return written.sort();
}

/** A `file:` dependency on a folder (not a packed tarball). */
function isFolderDependency(spec: string): boolean {
  if (!spec.startsWith('file:')) return false;
  const target = path.resolve(spec.slice('file:'.length));
  return fs.existsSync(target) && fs.statSync(target).isDirectory();
}

export function initCommand(): Command {
  return new Command('init')
    .description(
      'Scaffold a project with a saga of its own (support-ticket triage), `npm start` and an end-to-end `npm test`',
    )
    .argument('<dir>', 'a new or empty folder')
    .option('--sagalane <spec>', 'the sagalane dependency (default: this sagalane, as file:<its folder>)')
    .action((dir: string, opts: InitOptions) => {
      const files = scaffoldProject(dir, opts);
      const shown = path.relative(process.cwd(), path.resolve(dir)) || '.';
      process.stdout.write(
        [
          `Created ${shown} (${files.length} files):`,
          ...files.map((f) => `  ${f}`),
          '',
          'Next:',
          `  cd ${shown}`,
          '  npm install',
          '  npm test                       # builds, starts a dev stack, runs the saga end to end',
          '  npm start                      # sagalane dev with your saga (SAGALANE_SAGAS=./dist/sagas.js)',
          '  npm run sagalane -- saga types # in a second terminal: your saga, its input schema',
          '',
        ].join('\n'),
      );
    });
}
