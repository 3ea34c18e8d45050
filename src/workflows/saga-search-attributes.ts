/**
 * A saga's `SagaState` / `SagaStep` search attributes (`temporal workflow list --query 'SagaState="rolled_back"'`,
 * the Temporal UI's filters): upserted from the saga's state view as it changes, only the attributes whose value
 * changed, and, for sagas of `SAGA_V2_PATCH`, once per activation however many transitions it made. Older sagas
 * replay with the commands they were recorded with. Deterministic workflow code only.
 */
import { CancellationScope, condition, upsertSearchAttributes } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { SagaStateView } from './saga-contract';
import { SAGA_STATE, SAGA_STEP } from './search-attributes';

/** What the saga's patches say about how it upserts (`Saga.run`). */
export interface SearchAttributeVersions {
  /** FEWER_COMMANDS_PATCH (or later): no `pending` upsert, and only the attributes that changed. */
  fewerCommands: boolean;
  /** SAGA_V2_PATCH: transitions within one activation share one upsert. */
  coalesce: boolean;
}

export class SagaSearchAttributes {
  private versions: SearchAttributeVersions = { fewerCommands: false, coalesce: false };
  private queued = false;
  /**
   * Where queued upserts wait (`queue`): one non-cancellable scope per saga, made on first use, instead of one per
   * upsert. Equivalent for the history (a scope makes no command; a condition in a non-cancellable scope is never
   * cancelled either way) and three promises fewer per upsert, each of which the SDK's stack-trace hook costs.
   */
  private scope?: CancellationScope;
  private published: { state?: string; step?: string } = {};

  /** `enabled`: the Saga's `searchAttributes` option (they must be registered on the namespace). */
  constructor(
    private readonly enabled: boolean,
    private readonly view: SagaStateView<unknown, string>,
  ) {}

  /** The saga started (`Saga.run`, after its patches were asked). */
  begin(versions: SearchAttributeVersions): void {
    this.versions = versions;
    // A new saga leaves `SagaState` absent while pending: its first step's upsert follows in the same task.
    if (!versions.fewerCommands) this.publish();
  }

  /** The view's state changed (or was set again): upsert now, or once the activation has settled. */
  changed(terminal: boolean): void {
    if (this.versions.coalesce && !terminal) this.queue();
    else this.publish();
  }

  /**
   * Upserts once the code this activation runs has settled, so transitions that follow each other without waiting
   * (a plan-cache hit, then the next step) cost one upsert command and visibility write. The SDK checks a blocked
   * condition again only after the activation's microtasks ran, before it collects the commands; the upsert follows
   * the next step's activity. A terminal state is upserted at once, before the workflow's last command.
   */
  private queue(): void {
    if (this.queued) return;
    this.queued = true;
    let checked = false;
    const settled = () => checked || !(checked = true);
    // Not cancellable: a rollback's cancellation must not drop the upsert of the state it interrupted.
    this.scope ??= new CancellationScope({ cancellable: false });
    void this.scope
      .run(() => condition(settled))
      .then(() => {
        this.queued = false;
        this.publish();
      });
  }

  private publish(): void {
    if (!this.enabled) return;
    const view = this.view;
    const step = view.currentStep ?? view.error?.step ?? view.steps.at(-1)?.name;
    if (!this.versions.fewerCommands) {
      const updates: SearchAttributeUpdatePair[] = [{ key: SAGA_STATE, value: view.state }];
      if (step !== undefined) updates.push({ key: SAGA_STEP, value: step });
      upsertSearchAttributes(updates);
      return;
    }
    const updates: SearchAttributeUpdatePair[] = [];
    if (view.state !== this.published.state) updates.push({ key: SAGA_STATE, value: view.state });
    if (step !== undefined && step !== this.published.step) updates.push({ key: SAGA_STEP, value: step });
    if (updates.length === 0) return;
    upsertSearchAttributes(updates);
    this.published = { state: view.state, step: step ?? this.published.step };
  }
}
