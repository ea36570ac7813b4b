package engine

import "fmt"

// MaxSourceNesting is how deeply a scenario file may nest brackets ((, [, {) and chain
// unary operators, and MaxSourceChain how many operators (=== is one) one expression may
// chain between two separators (;, ",", or a bracket). goja's parser and compiler recurse once per
// level and have no limit of their own, and a Go stack overflow is not an error but the
// end of the process: a file of 1 000 000 nested parentheses ended the whole run, with
// no reports (issue 15). goja's compiler also took time that grew with the square of a
// chain's length (100 000 operators about 200 s), which no timeout can stop; the patched
// goja compiles a chain in linear time (third_party/goja/README.md), and the chain limit
// keeps a file of many chains quick to load. Real scenarios stay far below both.
// Scenario files are checked when they load (compileModule), and every source a script
// hands goja at run time (eval, direct or indirect, and the Function, AsyncFunction and
// GeneratorFunction constructors) by checkSource. The scan gives the clearer message; the
// parser's own limit (parserDepth) is what a source that misleads the scan meets.
const (
	MaxSourceNesting = 1000
	MaxSourceChain   = 2_000
)

// parserDepth is the depth limit of goja's parser (parser.WithMaxDepth, a patch of
// third_party/goja), given to it for scenario files and every source compiled at run
// time. nestingError is a text scan, and a source can mislead it (a quote inside a
// template's ${…} or a regular expression literal opens what it reads as a string; a
// {} between operators ends what it counts as a chain), so the parser counts too: each
// level of recursion, and each link of a chain it reads in a loop but builds as a tree
// as deep as the chain is long (a.b.c…, f()()…, a + b + c…, class extends class
// extends …). A bracket costs its parser about three levels, so sources within
// MaxSourceNesting and MaxSourceChain stay within it, and 4 000 levels keep the Go stack
// to a few megabytes and a chain's compilation to a fraction of a second.
const parserDepth = 4 * MaxSourceNesting

// nestingError scans src (JavaScript) for nesting or operator chains past the limits and
// returns where the first one is, 1-based, and what; ok is false when src is within
// them. It skips strings, template literals and comments; a regular expression literal
// is read as code, which can only make the count a little higher.
func nestingError(src string) (line, col int, msg string, ok bool) {
	line, col = 1, 0
	depth, unary, chain, op := 0, 0, 0, false
	for i := 0; i < len(src); i++ {
		c := src[i]
		col++
		if c == '\n' {
			line, col = line+1, 0
			continue
		}
		switch c {
		case '"', '\'', '`': // a string: to its unescaped end; an operand between operators
			unary, op = 0, false
			for i++; i < len(src) && src[i] != c; i++ {
				switch src[i] {
				case '\\':
					i++
					col++
				case '\n':
					line, col = line+1, 0
				}
				col++
			}
			col++
			continue
		case '/':
			if i+1 < len(src) && src[i+1] == '/' { // a line comment
				for i < len(src) && src[i] != '\n' {
					i++
				}
				i--
				continue
			}
			if i+1 < len(src) && src[i+1] == '*' { // a block comment
				for i += 2; i+1 < len(src) && !(src[i] == '*' && src[i+1] == '/'); i++ {
					if src[i] == '\n' {
						line, col = line+1, 0
					}
					col++
				}
				i++
				col += 2
				continue
			}
		}
		switch c {
		case '(', '[', '{':
			if depth++; depth > MaxSourceNesting {
				return line, col, fmt.Sprintf("brackets nest deeper than %d levels here", MaxSourceNesting), true
			}
		case ')', ']', '}':
			depth--
		}
		switch c {
		case '+', '-', '!', '~', '*', '/', '%', '&', '|', '^', '<', '>', '=', '?', ':':
			if unary++; unary > MaxSourceNesting {
				return line, col, fmt.Sprintf("more than %d operators follow one another here", MaxSourceNesting), true
			}
			if !op { // a run of operator characters (===, &&, =>) is one operator of a chain
				if chain++; chain > MaxSourceChain {
					return line, col, fmt.Sprintf("one expression chains more than %d operators here", MaxSourceChain), true
				}
			}
			op = true
			continue
		case ' ', '\t', '\r':
			op = false
		default:
			unary, op = 0, false
		}
		switch c {
		case ';', ',', '{', '}', '(', ')', '[', ']':
			chain = 0
		}
	}
	return 0, 0, "", false
}

// checkSource is every runtime's source check (goja's Runtime.SetSourceCheck, a hook of our
// patched goja: third_party/goja/README.md): goja calls it with each source it compiles at
// run time, before its parser sees it, and throws the error it returns as a SyntaxError in
// the script, in the shape of goja's own ("<eval>: Line 1:1001 ..."). A direct eval cannot
// be checked from outside goja: it must stay the intrinsic eval to see its caller's scope.
func checkSource(name, src string) error {
	if line, col, msg, bad := nestingError(src); bad {
		return fmt.Errorf("%s: Line %d:%d %s (vbharness refuses it before parsing: goja's parser would exhaust the stack and end the run)", name, line, col, msg)
	}
	return nil
}
