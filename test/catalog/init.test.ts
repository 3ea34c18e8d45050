/**
 * `sagalane init`'s scaffold, as files: the example project under a new name, depending on the sagalane that ran it.
 * (test/front/package.test.ts installs one from the packed tarball and runs its own end-to-end test.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scaffoldProject, INIT_TEMPLATE } from '../../src/cli/init';

describe('sagalane init', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-init-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const manifest = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));

  it('copies the example under the folder’s name, with a file: dependency npm installs as a package', () => {
    const dir = path.join(root, 'My Sagas');
    const files = scaffoldProject(dir);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'src/sagas.ts',
        'src/workflows.ts',
        'test/saga.test.js',
        '.npmrc',
      ]),
    );
    expect(files.some((f) => f.startsWith('node_modules') || f.startsWith('dist'))).toBe(false);
    expect(manifest(dir)).toMatchObject({
      name: 'my-sagas',
      dependencies: { sagalane: `file:${path.resolve(INIT_TEMPLATE, '..', '..')}` },
    });
    // Without it npm only links the folder, and the saga worker's bundler cannot find @temporalio/workflow.
    expect(fs.readFileSync(path.join(dir, '.npmrc'), 'utf8')).toBe('install-links=true\n');
  });

  it('writes a tarball or version dependency as given, without .npmrc; refuses a folder that is not empty', () => {
    const dir = path.join(root, 'from-tarball');
    scaffoldProject(dir, { sagalane: 'file:/tmp/sagalane-0.1.0.tgz' });
    expect(manifest(dir).dependencies.sagalane).toBe('file:/tmp/sagalane-0.1.0.tgz');
    expect(fs.existsSync(path.join(dir, '.npmrc'))).toBe(false);
    expect(() => scaffoldProject(dir)).toThrow(/is not empty: give init a new or empty folder/);
  });
});
