import type { Direction } from '../config/types.ts';
import type { Step } from '../engine/result.ts';

/** The direction words are fixed; every summary prints the arrows so nobody has to remember. */
export const STEP_ARROW: Record<Step, string> = {
  push: 'push sqlite → postgres',
  pull: 'pull postgres → sqlite',
};

export function directionLine(direction: Direction): string {
  if (direction === 'both') return `both (${STEP_ARROW.push}, then ${STEP_ARROW.pull})`;
  return STEP_ARROW[direction];
}
