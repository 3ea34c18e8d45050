/** Errors of the saga catalog: each names what is wrong and what would be right. */

/** A declaration or a catalog is malformed (bad names, a duplicate type or step, a step with no handler). */
export class SagaCatalogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SagaCatalogError';
  }
}

/** A front door was asked for a saga type the catalog does not have. */
export class UnknownSagaTypeError extends Error {
  constructor(
    readonly type: string,
    readonly known: readonly string[],
  ) {
    super(
      `Unknown saga type ${JSON.stringify(type)}: the known types are ${known.join(', ') || '(none)'} ` +
        '(`sagalane saga types` lists them with their inputs).',
    );
    this.name = 'UnknownSagaTypeError';
  }
}

/** A saga input failed its schema; `issues` names each field and the rule it broke. */
export class InvalidSagaInputError extends Error {
  constructor(
    readonly type: string,
    readonly issues: readonly { field: string; message: string }[],
  ) {
    super(`Invalid ${type} input: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
    this.name = 'InvalidSagaInputError';
  }
}
