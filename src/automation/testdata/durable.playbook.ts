import type { PlaybookDefinition } from '../playbook.types.ts';

/** A three-step playbook whose middle step waits `sleepMs` (to be killed in the middle of it). */
export function durablePlaybook(sleepMs: number): PlaybookDefinition {
  return {
    name: 'durable',
    version: 1,
    labels: ['durability'],
    async run(pb) {
      await pb.act('no op', { app: 'Utility', name: 'step_one', parameters: [{ value: 'one' }] });
      await pb.act('no op', { app: 'Utility', name: 'step_two', parameters: [{ value: 'two', sleep_ms: sleepMs }] });
      await pb.act('no op', { app: 'Utility', name: 'step_three', parameters: [{ value: 'three' }] });
      return 'all three steps done';
    },
  };
}
