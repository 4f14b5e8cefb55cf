// The shape of a command declaration (commands.ts): its options, positionals and subcommands.
// Shared by the parser (args.ts) and the usage renderer (usage-text.ts).

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** The value's placeholder in the usage (string options). */
  readonly value?: string;
  readonly help: string;
  readonly required?: boolean;
  /** May be given more than once; every value is kept, in order. */
  readonly multiple?: boolean;
  readonly default?: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export interface ParsedArgs {
  /** The string options given (or defaulted), by name without the dashes; `multiple` ones are in `lists`. */
  readonly options: Map<string, string>;
  /** Every value of each `multiple` option given. */
  readonly lists: Map<string, string[]>;
  /** The boolean options given. */
  readonly switches: Set<string>;
  readonly positionals: string[];
}

export interface LeafCommand {
  readonly summary: string;
  readonly options: OptionSpecs;
  /** Names of the positional arguments, each required (`ID`, `NAME`). */
  readonly positionals?: readonly string[];
  readonly run: (args: ParsedArgs) => Promise<number>;
}

export interface CommandGroup {
  readonly summary: string;
  readonly subcommands: Readonly<Record<string, Command>>;
}

export type Command = LeafCommand | CommandGroup;
