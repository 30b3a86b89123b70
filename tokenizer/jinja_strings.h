// Python str methods on UTF-8 strings for the chat-template Jinja subset (internal): case mapping via utf8proc,
// strip/split/replace/startswith with Python's semantics (indices and character sets are code points).
#pragma once

#include <string>

#include "tokenizer/jinja_value.h"

namespace r1kit::tokenizer::jinja {

const std::string& need_string(const Value& v, std::string_view what);  // throws EvalError unless a str
int64_t need_int(const Value& v, std::string_view what);                // int or bool, else EvalError
std::string map_case(const std::string& s, bool upper);                 // str.upper() / str.lower()
std::string title_case(const std::string& s);                           // str.title()
std::string capitalize(const std::string& s);                           // str.capitalize()
/// str.strip/lstrip/rstrip; chars null/None = whitespace.
std::string py_strip(const std::string& s, const Value* chars, bool left, bool right);
/// str.split / str.rsplit(sep=None, maxsplit=-1).
Value py_split(const std::string& s, const Value* sep, const Value* maxsplit, bool from_right);
/// str.replace(old, new, count); count < 0 = all.
std::string py_replace(const std::string& s, const std::string& old, const std::string& repl, int64_t count);
/// str.startswith / str.endswith with a str or a tuple/list of str.
bool affix_match(const std::string& s, const Value& affix, bool prefix);

}  // namespace r1kit::tokenizer::jinja
