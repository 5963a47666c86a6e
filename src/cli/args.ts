// Copyright the deno-echo authors. MIT license.

// The strict command-line layer the three programs share. `@std/cli`
// `parseArgs` is lax by design (unknown flags pass, `--port -1` sets
// `port: ""` and a flag `1`, `-Hlocalhost` is read as single letters,
// `--quiet=false` is accepted, numeric positionals become numbers), so the
// arguments are first read here by the POSIX rules the programs have always
// followed: `-Hvalue`, bundled booleans (`-qh`), a value taken from the next
// argument even when it starts with "-" (then refused as ambiguous), and
// everything after `--` a positional. Every mistake is a `UsageError` with one
// line. What passes is handed to `parseArgs` in a form it cannot misread
// (`--name=value`, `--flag`, then `--` and the positionals), which stores the
// values, strings as typed and repeatable options as lists.

import { parseArgs } from "@std/cli/parse-args";
import { UsageError } from "./cli.ts";

/** One option of a command line. */
export interface FlagSpec {
  /**
   * `"string"` takes a value (`--port 5`, `--port=5`, `-p5`); `"boolean"`
   * takes none.
   */
  type: "string" | "boolean";
  /** A one-letter alias, used as `-p`. @default {undefined} */
  short?: string;
  /** Whether the option may repeat, collecting every value. @default {false} */
  multiple?: boolean;
}

/** What {@linkcode parseFlags} reads: the arguments and the option table. */
export interface FlagsConfig<O extends Record<string, FlagSpec>> {
  /** The command line, without the program name. */
  args: readonly string[];
  /** The options, by long name (`--name`). */
  options: O;
  /** Whether arguments that are not options are allowed. @default {false} */
  allowPositionals?: boolean;
}

/** The value an option's spec gives: a string, a boolean, or a list. */
export type FlagValue<S extends FlagSpec> = S extends { type: "boolean" }
  ? S extends { multiple: true } ? boolean[] : boolean
  : S extends { multiple: true } ? string[]
  : string;

/** The options given, by long name; options not given are `undefined`. */
export type FlagValues<O extends Record<string, FlagSpec>> = {
  -readonly [K in keyof O]?: FlagValue<O[K]>;
};

/** The parsed command line. */
export interface ParsedFlags<O extends Record<string, FlagSpec>> {
  /** The options given. */
  values: FlagValues<O>;
  /** The other arguments, exactly as typed (`"007"` stays `"007"`). */
  positionals: string[];
}

/** An option as read from the command line, before it is checked. */
interface OptionToken {
  /** The long name, or the letter itself for an unknown short option. */
  name: string;
  /** How it was written (`-p`, `--port`). */
  raw: string;
  value: string | undefined;
  /** Whether the value came in the same argument (`--port=5`, `-p5`). */
  inline: boolean;
}

/**
 * Parses a command line strictly: unknown options, missing values, values
 * that start with "-" given as a separate argument, and values given to
 * boolean options are errors.
 *
 * @param config The arguments and the option table.
 * @returns The options given and the positionals, all strings as typed.
 * @throws {UsageError} With one line saying what is wrong.
 *
 * @example Options, a bundle of short flags and a positional
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseFlags } from "./args.ts";
 *
 * const { values, positionals } = parseFlags({
 *   args: ["-qp", "007", "--listen=tcp://:1", "-l", "tcp://:2", "host"],
 *   options: {
 *     port: { type: "string", short: "p" },
 *     listen: { type: "string", short: "l", multiple: true },
 *     quiet: { type: "boolean", short: "q" },
 *   },
 *   allowPositionals: true,
 * });
 * assertEquals(values, {
 *   port: "007",
 *   listen: ["tcp://:1", "tcp://:2"],
 *   quiet: true,
 * });
 * assertEquals(positionals, ["host"]);
 * ```
 *
 * @example A missing value is a one-line error
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { parseFlags } from "./args.ts";
 *
 * assertThrows(
 *   () =>
 *     parseFlags({
 *       args: ["--port", "-1"],
 *       options: { port: { type: "string", short: "p" } },
 *     }),
 *   Error,
 *   'Option --port needs a value; write it as --port=VALUE if it starts with "-"',
 * );
 * ```
 */
export function parseFlags<const O extends Record<string, FlagSpec>>(
  config: FlagsConfig<O>,
): ParsedFlags<O> {
  const { options, allowPositionals = false } = config;
  const flags: string[] = [];
  const positionals: string[] = [];
  for (const token of tokens(config.args, options)) {
    if (typeof token === "string") {
      if (!allowPositionals) {
        throw new UsageError(`Unexpected argument "${token}"`);
      }
      positionals.push(token);
    } else {
      flags.push(checked(token, options));
    }
  }
  return { values: stored(flags, options), positionals };
}

/** Whether `name` is one of the options (not something inherited). */
function known(options: Record<string, FlagSpec>, name: string): boolean {
  return Object.hasOwn(options, name);
}

function typeOf(
  options: Record<string, FlagSpec>,
  name: string,
): FlagSpec["type"] | undefined {
  return known(options, name) ? options[name]!.type : undefined;
}

/** The long name for a letter, or the letter itself (`-4` for `--4`). */
function longFor(options: Record<string, FlagSpec>, letter: string): string {
  for (const [name, spec] of Object.entries(options)) {
    if (spec.short === letter) return name;
  }
  return letter;
}

/**
 * Splits the arguments into options and positionals (strings), the POSIX
 * way: `-abc` is `-a -b -c` until a letter that takes a value, which takes
 * the rest (`-qHhost`; `-H=host` is `-Hhost`); a lone option that takes a
 * value takes the next argument whatever it is; after `--` everything is a
 * positional.
 */
function* tokens(
  args: readonly string[],
  options: Record<string, FlagSpec>,
): Generator<OptionToken | string> {
  const rest = [...args];
  while (rest.length > 0) {
    const arg = rest.shift()!;
    if (arg === "--") {
      yield* rest;
      return;
    }
    const long = arg.startsWith("--");
    if (arg.length < 2 || arg[0] !== "-") {
      yield arg;
      continue;
    }
    if (long) {
      const equals = arg.indexOf("=", 3);
      if (equals !== -1) {
        const name = arg.slice(2, equals);
        const value = arg.slice(equals + 1);
        yield { name, raw: `--${name}`, value, inline: true };
        continue;
      }
      const name = arg.slice(2);
      const takes = typeOf(options, name) === "string" && rest.length > 0;
      const value = takes ? rest.shift() : undefined;
      yield { name, raw: arg, value, inline: false };
      continue;
    }
    const name = longFor(options, arg[1]!);
    const takesValue = typeOf(options, name) === "string";
    if (arg.length === 2) {
      const value = takesValue && rest.length > 0 ? rest.shift() : undefined;
      yield { name, raw: arg, value, inline: false };
    } else if (takesValue) {
      // `-p=5` as `-p5`, as std's parseArgs and Go's flag package read it.
      const value = arg[2] === "=" ? arg.slice(3) : arg.slice(2);
      yield { name, raw: arg.slice(0, 2), value, inline: true };
    } else {
      rest.unshift(...bundle(arg, options));
    }
  }
}

/** `-qhHhost` as `-q`, `-h`, `-Hhost`: letters up to one that takes a value. */
function bundle(arg: string, options: Record<string, FlagSpec>): string[] {
  const letters: string[] = [];
  for (let i = 1; i < arg.length; i++) {
    const takesValue = typeOf(options, longFor(options, arg[i]!)) === "string";
    if (takesValue && i < arg.length - 1) {
      letters.push(`-${arg.slice(i)}`);
      break;
    }
    letters.push(`-${arg[i]}`);
  }
  return letters;
}

/**
 * Checks one option and returns it in the form `parseArgs` reads one way
 * only: `--name=value` or `--name`.
 */
function checked(
  token: OptionToken,
  options: Record<string, FlagSpec>,
): string {
  const { name, raw, value } = token;
  if (!known(options, name)) throw new UsageError(`Unknown option ${raw}`);
  const { type, short } = options[name]!;
  if (type === "boolean") {
    if (value !== undefined) {
      const names = short === undefined ? `--${name}` : `-${short}, --${name}`;
      throw new UsageError(`Option '${names}' does not take an argument`);
    }
    return `--${name}`;
  }
  if (value === undefined) {
    throw new UsageError(`Option --${name} needs a value`);
  }
  if (!token.inline && value.length > 1 && value.startsWith("-")) {
    throw new UsageError(
      `Option ${raw} needs a value; write it as --${name}=VALUE if it starts with "-"`,
    );
  }
  return `--${name}=${value}`;
}

/** Stores checked options with `parseArgs`, keeping only those given. */
function stored<O extends Record<string, FlagSpec>>(
  flags: string[],
  options: O,
): FlagValues<O> {
  const names = Object.keys(options);
  for (const name of names) {
    // parseArgs reads dots as nesting and `--no-x=v` as a value for `x`.
    if (
      /[.=]/.test(name) ||
      (options[name]!.type === "string" && name.startsWith("no-"))
    ) {
      throw new TypeError(`Cannot use "${name}" as an option name`);
    }
  }
  const parsed: Record<string, unknown> = parseArgs(flags, {
    string: names.filter((name) => options[name]!.type === "string"),
    boolean: names.filter((name) => options[name]!.type === "boolean"),
    collect: names.filter((name) => options[name]!.multiple === true),
  });
  const values: Record<string, unknown> = {};
  for (const name of names) {
    const value = parsed[name];
    // parseArgs fills in `false` and `[]` for options that were not given.
    const given = value !== undefined && value !== false &&
      !(Array.isArray(value) && value.length === 0);
    if (given) values[name] = value;
  }
  return values as FlagValues<O>;
}
