import type { PlaybookDefinition } from '../automation/playbook.types.ts';
import { networkExposurePlaybook } from './network-exposure/network-exposure.playbook.ts';

/** The playbooks that ship with Portcullis. */
export const BUILTIN_PLAYBOOKS: readonly PlaybookDefinition[] = [networkExposurePlaybook];

export { networkExposurePlaybook };
