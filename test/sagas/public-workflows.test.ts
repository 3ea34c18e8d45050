/**
 * What a user's workflow code imports from `sagalane/workflows` (src/workflows/public.ts): the lane hint a step passes
 * to choose its lane, and its type, so a typed step signature needs nothing from sagalane's internals. Jest
 * transpiles without type-checking, so the type half is checked with the compiler on a consumer module.
 */
import path from 'node:path';
import ts from 'typescript';
import { laneHint } from '../../src/workflows/public';
import { expressHint } from '../fixtures/lane-hint-consumer';

describe('sagalane/workflows', () => {
  it('exports laneHint', () => {
    expect(laneHint('standard')).toEqual({ sagalaneLane: 'standard' });
    expect(expressHint()).toEqual({ sagalaneLane: 'express' });
  });

  it('exports the LaneHint type: a consumer typed with it compiles', () => {
    const root = path.resolve(__dirname, '..', '..');
    const parsed = ts.getParsedCommandLineOfConfigFile(
      path.join(root, 'tsconfig.json'),
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => fail(d.messageText) },
    )!;
    const program = ts.createProgram([path.join(root, 'test/fixtures/lane-hint-consumer.ts')], {
      ...parsed.options,
      noEmit: true,
      types: ['node'],
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
  });
});
