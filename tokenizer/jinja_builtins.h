// Filters, tests, global functions and str/dict methods of the chat-template Jinja subset (internal).
// Behaviour follows Jinja 3.1's builtins and Python's str/dict methods; `tojson`, `raise_exception` and
// `strftime_now` follow transformers' overrides (transformers/utils/chat_template_utils.py).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja_value.h"

namespace r1kit::tokenizer::jinja {

bool is_known_filter(std::string_view name);
bool is_known_test(std::string_view name);

/// `value | name(args)`. Throws EvalError on bad arguments or types.
Value apply_filter(std::string_view name, const Value& value, CallArgs& args);
/// `value is name(args)`.
bool apply_test(std::string_view name, const Value& value, CallArgs& args);
/// `object.name(args)` for str, dict and list methods; throws EvalError naming the method when unsupported.
Value call_method(const Value& object, const std::string& name, CallArgs& args);

/// Thrown by the `raise_exception(message)` global; carries the template's own message.
class RaisedException : public EvalError {
 public:
  using EvalError::EvalError;
};

/// Items of an iterable as Jinja's for loop sees them (list -> items, dict -> keys, str -> characters,
/// undefined -> none). Throws EvalError "<what>: '<type>' object is not iterable" otherwise.
std::vector<Value> iterate(const Value& v, std::string_view what);

/// Looks up a global function (range, namespace, dict, raise_exception, strftime_now); undefined when unknown.
Value global_function(std::string_view name);

/// Python-style slice of a list or string (code points). Null optional = omitted.
Value slice_value(const Value& v, const Value* start, const Value* stop, const Value* step);

}  // namespace r1kit::tokenizer::jinja
