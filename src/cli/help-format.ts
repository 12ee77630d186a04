import { Help, type HelpConfiguration } from 'commander';

/** A list item in a description: `  - text`. */
const LIST_ITEM = /^(\s*- )/;

/**
 * Help text is written as paragraphs and lists and wrapped by commander to the terminal width
 * (80 columns in a pipe). Commander wraps every line at the margin; a list item's continuation
 * lines are indented under its text here instead, so the list still reads as a list.
 */
export const helpConfiguration: HelpConfiguration = {
  boxWrap(this: Help, str: string, width: number): string {
    return str
      .split('\n')
      .map((line) => {
        const item = LIST_ITEM.exec(line);
        if (!item) return Help.prototype.boxWrap.call(this, line, width);
        const hang = item[1]!.length;
        const wrapped = Help.prototype.boxWrap.call(this, line.slice(hang), width - hang);
        return wrapped
          .split('\n')
          .map((l, i) => (i === 0 ? item[1] : ' '.repeat(hang)) + l)
          .join('\n');
      })
      .join('\n');
  },
};
