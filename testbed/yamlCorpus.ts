/**
 * Edge forms of YAML a stack file can hold, each with what the planner does with it: `reads` (and
 * then must read exactly what `pulumi config` reads) or `refuses`. A refused form says why:
 * `differs` when Pulumi's reading differs from the `yaml` package's own (or only one of them
 * fails), `agrees` when the two read it alike (or both refuse it) and the planner refuses it anyway,
 * because a near neighbour would differ (docs/config-rules.md#the-stack-file). test/stack-file-pulumi.real.test.ts checks each claim
 * against the real CLI. `{{secret}}` stands for a ciphertext of the stack's passphrase.
 */
export interface YamlForm {
  name: string;
  /** The lines under `config:`, indented by two. */
  body: string;
  planner: "reads" | "refuses";
  /** For a refused form: whether the two readers really disagree. */
  why?: "differs" | "agrees";
}

const reads = (name: string, ...lines: string[]): YamlForm => ({ name, body: lines.join("\n"), planner: "reads" });
const differs = (name: string, ...lines: string[]): YamlForm => ({ name, body: lines.join("\n"), planner: "refuses", why: "differs" });
const agrees = (name: string, ...lines: string[]): YamlForm => ({ name, body: lines.join("\n"), planner: "refuses", why: "agrees" });

export const YAML_FORMS: readonly YamlForm[] = [
  // Numbers.
  differs("leading zero (octal to Go)", "  enclii:v: 0123"),
  reads("leading zero that is not octal", "  enclii:v: 08"),
  differs("leading zero, nested", "  enclii:v: [010]"),
  reads("hexadecimal", "  enclii:v: 0x1F"),
  differs("hexadecimal, upper-case X", "  enclii:v: 0X1F"),
  differs("hexadecimal with a sign", "  enclii:v: -0x10"),
  reads("octal, 0o", "  enclii:v: 0o17"),
  differs("binary", "  enclii:v: 0b101"),
  differs("digits with underscores", "  enclii:v: 1_000"),
  differs("digits with an underscore, nested", "  enclii:v: { a: 1_0 }"),
  reads("a sign", "  enclii:v: +12"),
  reads("minus zero", "  enclii:v: -0.0"),
  reads("floats", "  enclii:v: [1.50, 1e3, .5, 1., 0.1234567890123456789, 1e-400, 1.5e300, 5e-7, 1e21]"),
  reads("a float at the top", "  enclii:v: 1.5e300"),
  differs("infinity", "  enclii:v: .inf"),
  differs("minus infinity, nested", "  enclii:v: [-.Inf]"),
  differs("not a number", "  enclii:v: .nan"),
  differs("past a float's range", "  enclii:v: 1e400"),
  differs("a whole number past 2^53", "  enclii:v: 12345678901234567890"),
  differs("a whole number past 2^53, nested", "  enclii:v: [9007199254740993]"),
  reads("the largest safe whole number", "  enclii:v: [9007199254740991, -9007199254740991]"),
  // Words.
  reads("YAML 1.1 booleans are text to both", "  enclii:v: [yes, no, on, off, y, n, Yes, OFF]"),
  reads("yes at the top", "  enclii:v: yes"),
  reads("booleans", "  enclii:v: [true, True, TRUE, false, False, FALSE]"),
  reads("a boolean at the top", "  enclii:v: False"),
  reads("nulls, nested", "  enclii:v: [null, Null, NULL, ~, nUll]", "  enclii:w: { a: , b: ~ }"),
  differs("an empty value at the top", "  enclii:v:"),
  differs("null at the top", "  enclii:v: null"),
  reads("the empty string", '  enclii:v: ""'),
  reads("a merge key's word as a value", "  enclii:v: <<"),
  reads("text that looks like YAML", "  enclii:v: [a:b, ~x, 1:30, '!str', a#b]", "  enclii:w: a #comment"),
  // Dates.
  differs("a date", "  enclii:v: 2001-12-14"),
  differs("a date and time, nested", "  enclii:v: [2001-12-14t21:59:43.10-05:00]"),
  agrees("text shaped like a date that is not one", "  enclii:v: 2001-13-45"),
  reads("a quoted date", '  enclii:v: "2001-12-14"'),
  // Keys inside values.
  reads("keys that are whole numbers and booleans", "  enclii:v: { 1: a, +2: b, true: c }"),
  differs("a key with a leading zero", "  enclii:v: { 011: b }"),
  differs("a null key", "  enclii:v: { ~: a }"),
  differs("a float key written with an exponent", "  enclii:v: { 1e6: a }"),
  agrees("a float key", "  enclii:v: { 1.5: a }"),
  differs("a date key", "  enclii:v: { 2001-12-14: a }"),
  reads("quoted keys", '  enclii:v: { "010": a, "1e6": b, "~": c }'),
  differs("a quoted merge key's word", '  enclii:v: { "<<": c }'),
  // Merge keys, anchors and aliases.
  reads("a merge, its own keys first", "  enclii:v: { <<: { a: 1, b: 2 }, b: 3 }"),
  reads("a merge after its own keys", "  enclii:v: { b: 3, <<: { b: 2, c: 4 } }"),
  reads("a merge of an anchor", "  enclii:base: &b { a: 1, b: 2 }", "  enclii:v: { <<: *b, b: 3 }"),
  reads("a merge of a list, the first winning", "  enclii:v: { <<: [ { a: 1 }, { a: 2, c: 3 } ] }"),
  reads("a merge, nested", "  enclii:v:", "    a:", "      <<: { x: 1 }", "      y: 2"),
  differs("two merge keys in one map", "  enclii:v: { <<: { a: 1 }, <<: { b: 2 } }"),
  agrees("a merge of a scalar", "  enclii:v: { <<: 1 }"),
  agrees("a merge directly under config", "  <<: { enclii:x: 1 }", "  enclii:v: a"),
  reads("an alias", "  enclii:base: &b [1, 2]", "  enclii:v: *b"),
  reads("an anchor on a scalar", "  enclii:a: &n 3", "  enclii:v: [*n, *n]"),
  // Text.
  reads("block scalars", "  enclii:v: |", "    a", "    b", "  enclii:w: >", "    a", "    b", "", "    c", "  enclii:x: |-", "    a"),
  reads("a kept block scalar", "  enclii:v: |+", "    a", "", "  enclii:w: b"),
  reads("an indentation indicator", "  enclii:v: |2", "      a", "    b"),
  reads("more-indented folded lines", "  enclii:v: >", "    a", "      b", "    c"),
  reads("plain text over lines", "  enclii:v: a", "    b", "", "    c"),
  reads("double-quoted text over lines", '  enclii:v: "a', "    b\\", '    c"'),
  reads("single quotes", "  enclii:v: 'it''s'"),
  reads("escapes Go knows", '  enclii:v: "\\u00e9\\x41\\t\\N\\_\\L\\P\\e\\a\\v\\b\\f\\0\\ \\"\\\\\\U0001F600"'),
  reads("control characters as escapes", '  enclii:v: "a\\x00b\\x01c"'),
  differs("the escape \\/", '  enclii:v: "a\\/b"'),
  differs("an escape for half a surrogate pair", '  enclii:v: "\\ud83d\\ude00"'),
  reads("text past ASCII", "  enclii:v: héllo wörld ✓"),
  reads("trailing spaces and comments", "  enclii:v: a   # note", "  # a comment line", "  enclii:w: b\t# tab"),
  reads("CRLF line ends", "  enclii:v: a\r", "  enclii:w: b\r"),
  differs("a carriage return alone", "  enclii:v: a\r  enclii:w: b"),
  // Structure.
  reads("block lists and maps", "  enclii:v:", "    - 1", "    - a: 2", "      b: x", "    -", "    - []", "    - {}"),
  reads("a set's form", "  enclii:v: { ? a }"),
  reads("a document end marker", "  enclii:v: a", "..."),
  differs("a second document", "---", "  enclii:v: a"),
  // Secrets.
  reads("a secret", "  enclii:v:", "    secure: {{secret}}"),
  reads("a map with secure beside other keys is plain", "  enclii:v: { secure: x, other: y }"),
  differs("a secret inside a plain value", "  enclii:v:", "    a:", "      secure: {{secret}}"),
];
