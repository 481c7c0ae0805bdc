// The template catalog is defined once, beside the agent that builds it.
export { BUILTIN_TEMPLATES as TEMPLATE_SPECS } from '../../../agent/templates/specs';
