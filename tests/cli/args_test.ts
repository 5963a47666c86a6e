// Copyright the deno-echo authors. MIT license.

import { assertEquals, assertThrows } from "@std/assert";
import { type FlagSpec, parseFlags } from "../../src/cli/args.ts";
import { UsageError } from "../../src/cli/cli.ts";

// The shapes the programs use: string options with and without a letter, a
// repeatable one, booleans with a letter, `--no-quit`, and `-4` (an option
// named "4" with no letter, reached as `-4` all the same).
const OPTIONS = {
  hostname: { type: "string", short: "H" },
  port: { type: "string", short: "p" },
  listen: { type: "string", short: "l", multiple: true },
  cert: { type: "string" },
  "no-quit": { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
  "4": { type: "boolean" },
} as const satisfies Record<string, FlagSpec>;

type Parsed = { values: Record<string, unknown>; positionals?: string[] };

// Each row: the arguments, then what they parse to or the exact message.
const ROWS: [string[], Parsed | string][] = [
  [[], { values: {} }],
  // Values, in every form the programs have always accepted.
  [["--port", "5"], { values: { port: "5" } }],
  [["--port=5"], { values: { port: "5" } }],
  [["-p", "5"], { values: { port: "5" } }],
  [["-p5"], { values: { port: "5" } }],
  [["-p=5"], { values: { port: "5" } }],
  [["-p==5"], { values: { port: "=5" } }],
  [["-qH=x"], { values: { quiet: true, hostname: "x" } }],
  [["--port=-1"], { values: { port: "-1" } }],
  [["-p-1"], { values: { port: "-1" } }],
  [["--port", "-"], { values: { port: "-" } }],
  [["--port="], { values: { port: "" } }],
  [["--port", ""], { values: { port: "" } }],
  [["--port=--"], { values: { port: "--" } }],
  [["--port", "007"], { values: { port: "007" } }],
  [["-p", "5", "-p", "6"], { values: { port: "6" } }],
  [["--cert", "a.pem"], { values: { cert: "a.pem" } }],
  [["-Hlocalhost"], { values: { hostname: "localhost" } }],
  [["-H=x"], { values: { hostname: "x" } }],
  [["-pq"], { values: { port: "q" } }],
  // Bundled short flags: booleans, then at most one that takes the rest.
  [["-qh"], { values: { quiet: true, help: true } }],
  [["-qHx"], { values: { quiet: true, hostname: "x" } }],
  [["-qH", "x"], { values: { quiet: true, hostname: "x" } }],
  [["-qp", "5"], { values: { quiet: true, port: "5" } }],
  [["-lqu"], { values: { listen: ["qu"] } }],
  [["-4"], { values: { "4": true } }],
  [["--4"], { values: { "4": true } }],
  [["-q4"], { values: { quiet: true, "4": true } }],
  [["--quiet", "-qq"], { values: { quiet: true } }],
  // Repeatable options collect every value.
  [
    ["--listen", "a", "-l", "b", "--listen=c", "-ld"],
    { values: { listen: ["a", "b", "c", "d"] } },
  ],
  // --no-quit is an option of its own, not "quit" negated.
  [["--no-quit"], { values: { "no-quit": true } }],
  [["--quit"], "Unknown option --quit"],
  [["--no-quiet"], "Unknown option --no-quiet"],
  [["--no-port"], "Unknown option --no-port"],
  [["--no-quit", "--quiet"], { values: { "no-quit": true, quiet: true } }],
  // Unknown options, in every form.
  [["--bogus"], "Unknown option --bogus"],
  [["--x=1"], "Unknown option --x"],
  [["-x"], "Unknown option -x"],
  [["-qx"], "Unknown option -x"],
  [["-xq"], "Unknown option -x"],
  [["-q=1"], "Unknown option -="],
  [["--Port"], "Unknown option --Port"],
  [["---x"], "Unknown option ---x"],
  [["--=x"], "Unknown option --=x"],
  [["--__proto__"], "Unknown option --__proto__"],
  [["--toString"], "Unknown option --toString"],
  [["--bogus", "--port"], "Unknown option --bogus"],
  // A missing value.
  [["--port"], "Option --port needs a value"],
  [["-H"], "Option --hostname needs a value"],
  [["-H", "x", "-p"], "Option --port needs a value"],
  [["-qp"], "Option --port needs a value"],
  [["-l"], "Option --listen needs a value"],
  [["--cert"], "Option --cert needs a value"],
  // A value that starts with "-" must be attached to its option.
  [
    ["--port", "-1"],
    'Option --port needs a value; write it as --port=VALUE if it starts with "-"',
  ],
  [
    ["-p", "-1"],
    'Option -p needs a value; write it as --port=VALUE if it starts with "-"',
  ],
  [
    ["--port", "--"],
    'Option --port needs a value; write it as --port=VALUE if it starts with "-"',
  ],
  [
    ["--hostname", "--port", "5"],
    'Option --hostname needs a value; write it as --hostname=VALUE if it starts with "-"',
  ],
  [
    ["-H", "-q"],
    'Option -H needs a value; write it as --hostname=VALUE if it starts with "-"',
  ],
  [
    ["--listen", "-l"],
    'Option --listen needs a value; write it as --listen=VALUE if it starts with "-"',
  ],
  // Booleans take no value, not even "false".
  [["--quiet=false"], "Option '-q, --quiet' does not take an argument"],
  [["--quiet=1"], "Option '-q, --quiet' does not take an argument"],
  [["--quiet="], "Option '-q, --quiet' does not take an argument"],
  [["--help=1"], "Option '-h, --help' does not take an argument"],
  [["--no-quit=1"], "Option '--no-quit' does not take an argument"],
  [["--4=1"], "Option '--4' does not take an argument"],
  // Without positionals allowed, any other argument is refused.
  [["pos"], 'Unexpected argument "pos"'],
  [["007"], 'Unexpected argument "007"'],
  [["-"], 'Unexpected argument "-"'],
  [[""], 'Unexpected argument ""'],
  [["--", "--bogus"], 'Unexpected argument "--bogus"'],
  [["-q-x"], 'Unexpected argument "-x"'],
  [["--hostname=", "x"], 'Unexpected argument "x"'],
  [["--"], { values: {} }],
  [["-q-"], { values: { quiet: true } }],
];

// The same with positionals allowed (the client and the bench).
const POSITIONAL_ROWS: [string[], Parsed | string][] = [
  [["pos"], { values: {}, positionals: ["pos"] }],
  [["007", "1e3"], { values: {}, positionals: ["007", "1e3"] }],
  [["-", "x"], { values: {}, positionals: ["-", "x"] }],
  [[""], { values: {}, positionals: [""] }],
  [["it's"], { values: {}, positionals: ["it's"] }],
  [["h", "-q", "7"], { values: { quiet: true }, positionals: ["h", "7"] }],
  // After `--` everything is a positional, for the caller to check.
  [
    ["--", "--bogus", "-p", "007"],
    { values: {}, positionals: ["--bogus", "-p", "007"] },
  ],
  [["a", "--", "-p"], { values: {}, positionals: ["a", "-p"] }],
  [["-4", "--", "-5"], { values: { "4": true }, positionals: ["-5"] }],
  [["-q-x"], { values: { quiet: true }, positionals: ["-x"] }],
  [["--hostname=", "x"], { values: { hostname: "" }, positionals: ["x"] }],
  [["--bogus", "x"], "Unknown option --bogus"],
  [["x", "--port"], "Option --port needs a value"],
  [
    ["x", "--port", "-1"],
    'Option --port needs a value; write it as --port=VALUE if it starts with "-"',
  ],
];

function check(
  args: string[],
  expected: Parsed | string,
  allowPositionals: boolean,
): void {
  const parse = () => parseFlags({ args, options: OPTIONS, allowPositionals });
  if (typeof expected === "string") {
    const error = assertThrows(parse, UsageError);
    assertEquals(error.message, expected);
    return;
  }
  const { values, positionals } = parse();
  assertEquals(values, expected.values);
  assertEquals(positionals, expected.positionals ?? []);
}

function label(args: string[]): string {
  return args.length === 0
    ? "(nothing)"
    : args.map((a) => a === "" ? '""' : a).join(" ");
}

Deno.test("parseFlags() reads command lines strictly, as the programs always have", async (t) => {
  for (const [args, expected] of ROWS) {
    await t.step(label(args), () => check(args, expected, false));
  }
});

Deno.test("parseFlags() with positionals keeps them as typed, options checked around them", async (t) => {
  for (const [args, expected] of POSITIONAL_ROWS) {
    await t.step(label(args), () => check(args, expected, true));
  }
});

Deno.test("parseFlags() leaves options not given undefined and types the rest", () => {
  const { values } = parseFlags({ args: ["-p", "1"], options: OPTIONS });
  const port: string | undefined = values.port;
  const listen: string[] | undefined = values.listen;
  const quiet: boolean | undefined = values.quiet;
  assertEquals([port, listen, quiet], ["1", undefined, undefined]);
  assertEquals(Object.keys(values), ["port"]);
});

Deno.test("parseFlags() refuses option names it could not read back", () => {
  for (const name of ["a.b", "a=b", "no-x"]) {
    assertThrows(
      () => parseFlags({ args: [], options: { [name]: { type: "string" } } }),
      TypeError,
      `Cannot use "${name}" as an option name`,
    );
  }
});
