/** The `patched()` ids of the Saga helper and the pipeline (versioning policy: docs/SAGAS.md). Workflow code. */

/**
 * Versioning (`patched`): sagas started by this code skip the `pending` search-attribute upsert (an absent
 * `SagaState` means pending), upsert only the search attributes that changed, and the pipeline sets its memo only
 * when the client did not. Older sagas replay with the commands they were recorded with.
 */
export const FEWER_COMMANDS_PATCH = 'sagalane-fewer-commands-v1';

/**
 * Versioning (`patched`): one patch for what this version changed in a saga's commands (`FEWER_COMMANDS_PATCH`,
 * upserts coalesced per activation; the pipeline's local steps and plan-cache lookup). Core records a marker and a
 * `TemporalChangeVersion` upsert for each patch a run asks; older sagas replay through the individual patches.
 */
export const SAGA_V2_PATCH = 'sagalane-saga-v2';
