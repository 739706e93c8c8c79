/**
 * The commands a shell script runs, read from its text: what the bootstrap's Debian-root test
 * (test/bootstrap-root.real.test.ts) looks up. A reader for the scripts this program renders, not
 * for all of bash: no `case` arms, aliases, `eval`, or commands named by a variable.
 */
export interface Use {
  command: string;
  line: number;
}

/** A command word: a name on PATH, or an absolute path; anything else (`[`, `"$x"`) is not looked up. */
const COMMAND = /^(?:[A-Za-z_][\w.+-]*|\/[\w./+-]+)$/;
/** Words after which the next word is a command; `for` and `case` take words that are not. */
const COMMAND_FOLLOWS = new Set(["if", "then", "else", "elif", "do", "while", "until", "!", "time"]);

/**
 * The commands a bash or sh script runs, in order, with the line each is on: the first word of each
 * simple command (after its assignments), in the script and in every `$( )`, including those inside
 * double quotes and arithmetic. Heredoc bodies are data, except a script the bootstrap writes
 * (`#!` first), whose commands are read as if run where it is written, and a systemd unit, whose
 * `ExecStart=` program is. `functions` collects the names the script defines.
 */
export function commandsOf(script: string, functions = new Set<string>(), firstLine = 1): Use[] {
  const lines = script.split("\n");
  const uses: Use[] = [];
  const code: { text: string; line: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    code.push({ text: lines[i], line: firstLine + i });
    const heredoc = /<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1/.exec(lines[i].replace(/<<</g, ""));
    if (!heredoc) continue;
    const end = lines.indexOf(heredoc[2], i + 1);
    if (end < 0) throw new Error(`line ${firstLine + i}: heredoc ${heredoc[2]} never ends`);
    const body = lines.slice(i + 1, end);
    if (body[0]?.startsWith("#!")) uses.push(...commandsOf(body.join("\n"), functions, firstLine + i + 1));
    for (const l of body) {
      const exec = /^ExecStart=(\S+)/.exec(l);
      if (exec) uses.push({ command: exec[1], line: firstLine + i });
    }
    code.push(...body.map(() => ({ text: "", line: 0 })));
    i = end;
    code.push({ text: "", line: firstLine + end });
  }
  const text = code.map((c) => c.text).join("\n");
  const lineAt = (pos: number) => code[text.slice(0, pos).split("\n").length - 1].line;
  uses.push(...scan(text, lineAt, functions));
  return uses.sort((a, b) => a.line - b.line);
}

/** Commands in the code `text` (a script, or a `$( )` body): the first word of each simple command. */
function scan(text: string, lineAt: (pos: number) => number, functions: Set<string>): Use[] {
  const uses: Use[] = [];
  const inner = (from: number, to: number) => substitutions(text.slice(from, to), (p) => lineAt(p + from), functions);
  let commandStart = true;
  let skipToSeparator = false;
  for (let i = 0; i < text.length;) {
    const c = text[i];
    if (c === " " || c === "\t") {
      i++;
    } else if (commandStart && text.startsWith("((", i)) {
      const end = arithEnd(text, i + 2);
      uses.push(...inner(i + 2, end));
      i = end + 2;
      commandStart = false;
    } else if ("\n;|&{}()".includes(c)) {
      // `}` ends a group, `)` a subshell: what follows is an operator or a redirection, never a command.
      if (!"})".includes(c)) commandStart = true;
      if ("\n;|&".includes(c)) skipToSeparator = false;
      i++;
    } else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
      const eol = text.indexOf("\n", i);
      i = eol < 0 ? text.length : eol;
    } else {
      // A word, read whole; the substitutions inside it run too.
      const start = i;
      while (i < text.length && !/[\s;|&()]/.test(text[i])) {
        if (text[i] === "'") i = text.indexOf("'", i + 1) + 1;
        else if (text[i] === '"') {
          const end = quoteEnd(text, i + 1);
          uses.push(...inner(i + 1, end));
          i = end + 1;
        } else if (text.startsWith("$((", i)) {
          const end = arithEnd(text, i + 3);
          uses.push(...inner(i + 3, end));
          i = end + 2;
        } else if (text.startsWith("$(", i)) {
          const end = matchingParen(text, i + 2);
          uses.push(...scan(text.slice(i + 2, end), (p) => lineAt(p + i + 2), functions));
          i = end + 1;
        } else i += text[i] === "\\" ? 2 : 1;
      }
      const word = text.slice(start, i);
      if (!commandStart || skipToSeparator) continue;
      // Assignments and redirections before a command leave the command still to come.
      if (/^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/.test(word) || /^[0-9]*[<>]/.test(word)) continue;
      if (COMMAND_FOLLOWS.has(word)) continue;
      commandStart = false;
      if (text.startsWith("()", i)) {
        functions.add(word);
        i += 2;
        commandStart = true;
      } else if (word === "for" || word === "case") skipToSeparator = true;
      else if (COMMAND.test(word)) uses.push({ command: word, line: lineAt(start) });
    }
  }
  return uses;
}

/** Commands in the `$( )` of text that is not code (a double-quoted string, an arithmetic expression). */
function substitutions(text: string, lineAt: (pos: number) => number, functions: Set<string>): Use[] {
  const uses: Use[] = [];
  for (let i = 0; i < text.length;) {
    if (text.startsWith("$((", i)) {
      const end = arithEnd(text, i + 3);
      uses.push(...substitutions(text.slice(i + 3, end), (p) => lineAt(p + i + 3), functions));
      i = end + 2;
    } else if (text.startsWith("$(", i)) {
      const end = matchingParen(text, i + 2);
      uses.push(...scan(text.slice(i + 2, end), (p) => lineAt(p + i + 2), functions));
      i = end + 1;
    } else i += text[i] === "\\" ? 2 : 1;
  }
  return uses;
}

/** The closing `"` of a string whose text starts at `from`. */
function quoteEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text.startsWith("$(", i)) i = matchingParen(text, i + 2);
    else if (text[i] === '"') return i;
  }
  throw new Error("unclosed quote");
}

/** The `)` closing a `$(` whose body starts at `from`, skipping quotes and nested parentheses. */
function matchingParen(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === "'") i = text.indexOf("'", i + 1);
    else if (c === '"') i = quoteEnd(text, i + 1);
    else if (c === "(") depth++;
    else if (c === ")" && depth-- === 0) return i;
  }
  throw new Error("unclosed $(");
}

/** The `))` closing a `$((` or `((` whose body starts at `from`. */
function arithEnd(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    if (text[i] === "(") depth++;
    else if (text[i] === ")" && depth === 0 && text[i + 1] === ")") return i;
    else if (text[i] === ")") depth--;
  }
  throw new Error("unclosed ((");
}
