// Parser for the Jinja subset used by chat templates (internal to the chat-template renderer).
//
// Supported: text, {{ expr }}, if/elif/else, for (tuple targets, `if` filter, else, loop.*), set (name, tuple,
// namespace attribute, block form), macro, break/continue (loopcontrols), generation; expressions with Jinja's
// precedence (or, and, not, comparisons incl. in / not in, + -, ~, * / // %, **, unary - +), literals (str, int,
// float, true/false/none in either case, lists, tuples, dicts), attribute / item access, slices, calls with
// keyword arguments, filters (`|`), tests (`is [not]`) and `a if c else b`.
// Anything else (include, import, extends, block, call, filter blocks, with, recursive loops, unknown filters or
// tests) throws SyntaxError naming the construct and its line/column.
#pragma once

#include <string_view>

#include "tokenizer/jinja_ast.h"

namespace r1kit::tokenizer::jinja {

/// Parses a whole template. Throws SyntaxError.
StmtList parse_template(std::string_view source);

}  // namespace r1kit::tokenizer::jinja
