// Every workflow sagalane registers; the worker bundles this module (deterministic code only).
export { researchPipeline } from './research/research-pipeline';
