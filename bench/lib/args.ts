/** Command-line options shared by the benchmarks. */

/** `--scale <f>` (0 < f ≤ 10) shortens or lengthens every phase; 1 without the flag. */
export function scaleArg(argv: string[] = process.argv): number {
  const i = argv.indexOf('--scale');
  if (i < 0) return 1;
  const v = Number(argv[i + 1]);
  if (!(v > 0 && v <= 10)) throw new Error(`--scale must be a number in (0, 10] (got ${argv[i + 1]})`);
  return v;
}
