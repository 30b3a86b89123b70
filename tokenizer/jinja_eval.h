// Evaluator for parsed chat templates (internal to the chat-template renderer).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja_ast.h"

namespace r1kit::tokenizer::jinja {

/// A render-time failure at a template line/column. `raised` = the template called raise_exception(message).
class RenderError : public std::runtime_error {
 public:
  RenderError(int line, int column, bool raised, const std::string& message)
      : std::runtime_error(message), line(line), column(column), raised(raised) {}
  int line;
  int column;
  bool raised;
};

/// Optional instrumentation: byte ranges [begin, end) of the top-level output written by each for-loop iteration
/// whose loop item is the dict `probe` (compared by identity). ChatTemplate uses it to find what a template
/// appends after an assistant message (its end-of-turn text).
struct RenderTrace {
  const ObjectData* probe = nullptr;
  std::vector<std::pair<size_t, size_t>> iterations;
};

/// Renders `program` with the variables of `context` (a dict). Throws RenderError. Thread-safe: `program` is only
/// read; every render has its own scopes.
std::string render_program(const StmtList& program, const Value& context, RenderTrace* trace = nullptr);

}  // namespace r1kit::tokenizer::jinja
