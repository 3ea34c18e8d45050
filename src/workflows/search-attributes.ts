/**
 * Search attributes every saga upserts, so `temporal workflow list --query 'SagaState="rolled_back"'` and the
 * Temporal UI can filter sagas. Deterministic code only: this module is bundled into workflows.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SAGA_STATE = defineSearchAttributeKey('SagaState', SearchAttributeType.KEYWORD);
export const SAGA_STEP = defineSearchAttributeKey('SagaStep', SearchAttributeType.KEYWORD);

/** Registered on the dev server at start-up (`sagalane dev`, tests) and by `temporal operator` in production. */
export const SAGA_SEARCH_ATTRIBUTES = [SAGA_STATE, SAGA_STEP];
