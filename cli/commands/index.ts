import type { CommandSpec } from '../command';
import { DLQ_COMMANDS } from './dlq';
import { EVENT_COMMANDS } from './events';
import { HEALTH_COMMANDS } from './health';
import { INSTANCE_COMMANDS } from './instances';
import { pollCommand } from './poll';
import { QUEUE_COMMANDS } from './queues';
import { TEST_EVENT_COMMANDS } from './test-event';

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [...INSTANCE_COMMANDS, ...HEALTH_COMMANDS, pollCommand, ...TEST_EVENT_COMMANDS, ...QUEUE_COMMANDS, ...DLQ_COMMANDS, ...EVENT_COMMANDS];
