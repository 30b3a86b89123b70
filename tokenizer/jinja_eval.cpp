// Tree-walking evaluator with Jinja's scoping rules: a for-loop iteration and a macro call get their own scope
// (so `set` inside them does not leak out; `namespace()` objects are how templates carry state out of loops),
// `if` does not. Python semantics for operators. See jinja_eval.h.
#include "tokenizer/jinja_eval.h"

#include <cmath>
#include <unordered_map>

#include "tokenizer/jinja_builtins.h"

namespace r1kit::tokenizer::jinja {
namespace {

struct Scope {
  std::unordered_map<std::string, Value> vars;
  const Scope* parent = nullptr;

  const Value* find(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent) {
      auto it = s->vars.find(name);
      if (it != s->vars.end()) return &it->second;
    }
    return nullptr;
  }
};

void need_defined(const Value& v) {
  if (v.is_undefined()) throw EvalError(v.s.empty() ? "undefined value used" : v.s);
}

std::vector<Value> iterate_for(const Value& v) { return iterate(v, "for loop"); }

Value arithmetic(const std::string& op, const Value& a, const Value& b) {
  need_defined(a);
  need_defined(b);
  using T = Value::Type;
  auto is_num = [](const Value& v) { return v.type == T::integer || v.type == T::floating || v.type == T::boolean; };
  auto as_int = [](const Value& v) { return v.type == T::boolean ? static_cast<int64_t>(v.b) : v.i; };
  auto as_double = [&](const Value& v) { return v.type == T::floating ? v.d : static_cast<double>(as_int(v)); };
  auto type_error = [&]() -> EvalError {
    return EvalError("unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" + type_name(b) + "'");
  };
  if (op == "+") {
    if (a.is_string() && b.is_string()) return Value::string(a.s + b.s);
    if (a.is_array() && b.is_array()) {
      std::vector<Value> items = *a.array;
      items.insert(items.end(), b.array->begin(), b.array->end());
      return Value::list(std::move(items));
    }
  }
  if (op == "*") {
    const Value* seq = a.is_string() || a.is_array() ? &a : (b.is_string() || b.is_array() ? &b : nullptr);
    const Value* times = seq == &a ? &b : &a;
    if (seq && (times->type == T::integer || times->type == T::boolean)) {
      int64_t n = as_int(*times);
      if (seq->is_string()) {
        std::string out;
        for (int64_t k = 0; k < n; ++k) out += seq->s;
        return Value::string(out);
      }
      std::vector<Value> out;
      for (int64_t k = 0; k < n; ++k) out.insert(out.end(), seq->array->begin(), seq->array->end());
      return Value::list(std::move(out));
    }
  }
  if (!is_num(a) || !is_num(b)) throw type_error();
  bool ints = a.type != T::floating && b.type != T::floating;
  if (op == "/") {
    if (as_double(b) == 0.0) throw EvalError("division by zero");
    return Value::floating(as_double(a) / as_double(b));
  }
  if (ints) {
    int64_t x = as_int(a), y = as_int(b);
    if (op == "+") return Value::integer(x + y);
    if (op == "-") return Value::integer(x - y);
    if (op == "*") return Value::integer(x * y);
    if (op == "//" || op == "%") {
      if (y == 0) throw EvalError("integer division or modulo by zero");
      int64_t q = x / y, r = x % y;
      if (r != 0 && ((r < 0) != (y < 0))) {
        q -= 1;
        r += y;
      }
      return Value::integer(op == "//" ? q : r);
    }
    if (op == "**") {
      if (y < 0) return Value::floating(std::pow(static_cast<double>(x), static_cast<double>(y)));
      int64_t r = 1;
      for (int64_t k = 0; k < y; ++k) r *= x;
      return Value::integer(r);
    }
  } else {
    double x = as_double(a), y = as_double(b);
    if (op == "+") return Value::floating(x + y);
    if (op == "-") return Value::floating(x - y);
    if (op == "*") return Value::floating(x * y);
    if (op == "//" || op == "%") {
      if (y == 0.0) throw EvalError("float division or modulo by zero");
      double q = std::floor(x / y);
      return Value::floating(op == "//" ? q : x - q * y);
    }
    if (op == "**") return Value::floating(std::pow(x, y));
  }
  throw type_error();
}

bool contains(const Value& container, const Value& item) {
  if (container.is_string()) {
    if (!item.is_string())
      throw EvalError("'in <string>' requires string as left operand, not " + type_name(item));
    return container.s.find(item.s) != std::string::npos;
  }
  if (container.is_object() && !container.object->is_namespace)
    return item.is_string() && container.object->find(item.s) != nullptr;
  for (const Value& v : iterate_for(container))
    if (equals(v, item)) return true;
  return false;
}

class Renderer {
 public:
  Renderer(const Value& context, RenderTrace* trace) : trace_(trace) {
    if (context.is_object())
      for (const auto& [k, v] : context.object->entries) context_.vars[k] = v;
    template_.parent = &context_;
  }

  std::string run(const StmtList& program) {
    std::string out;
    root_out_ = &out;
    exec_list(program, template_, out);
    return out;
  }

 private:
  enum class Flow { normal, brk, cont };

  Scope context_;
  Scope template_;
  RenderTrace* trace_;
  const std::string* root_out_ = nullptr;

  Flow exec_list(const StmtList& list, Scope& scope, std::string& out) {
    for (const auto& s : list) {
      Flow f = exec(*s, scope, out);
      if (f != Flow::normal) return f;
    }
    return Flow::normal;
  }

  Flow exec(const Stmt& s, Scope& scope, std::string& out) {
    switch (s.kind) {
      case StmtKind::text: out += s.text; return Flow::normal;
      case StmtKind::output: out += to_str(eval(*s.expr, scope)); return Flow::normal;
      case StmtKind::if_block:
        for (const auto& [cond, body] : s.branches)
          if (!cond || truthy(eval(*cond, scope))) return exec_list(body, scope, out);
        return Flow::normal;
      case StmtKind::for_loop: exec_for(s, scope, out); return Flow::normal;
      case StmtKind::set: exec_set(s, scope); return Flow::normal;
      case StmtKind::set_block: {
        std::string captured;
        exec_list(s.body, scope, captured);
        scope.vars[s.targets[0]] = Value::string(std::move(captured));
        return Flow::normal;
      }
      case StmtKind::macro: define_macro(s, scope); return Flow::normal;
      case StmtKind::loop_break: return Flow::brk;
      case StmtKind::loop_continue: return Flow::cont;
      case StmtKind::generation: return exec_list(s.body, scope, out);
    }
    return Flow::normal;
  }

  [[noreturn]] static void rethrow(const Stmt& s, const EvalError& e) {
    throw RenderError(s.line, s.column, dynamic_cast<const RaisedException*>(&e) != nullptr, e.what());
  }

  static void bind(Scope& scope, const std::vector<std::string>& targets, const Value& v) {
    if (targets.size() == 1) {
      scope.vars[targets[0]] = v;
      return;
    }
    if (!v.is_array() || v.array->size() != targets.size())
      throw EvalError("cannot unpack " + type_name(v) + " into " + std::to_string(targets.size()) + " variables");
    for (size_t k = 0; k < targets.size(); ++k) scope.vars[targets[k]] = (*v.array)[k];
  }

  void exec_for(const Stmt& s, Scope& scope, std::string& out) {
    std::vector<Value> items;
    try {
      items = iterate_for(eval(*s.expr, scope));
      if (s.filter) {
        std::vector<Value> kept;
        for (const Value& item : items) {
          Scope probe{{}, &scope};
          bind(probe, s.targets, item);
          if (truthy(eval(*s.filter, probe))) kept.push_back(item);
        }
        items = std::move(kept);
      }
    } catch (const EvalError& e) {
      rethrow(s, e);
    }
    if (items.empty()) {
      exec_list(s.else_body, scope, out);
      return;
    }
    const int64_t n = static_cast<int64_t>(items.size());
    for (int64_t k = 0; k < n; ++k) {
      Scope iteration{{}, &scope};
      try {
        bind(iteration, s.targets, items[static_cast<size_t>(k)]);
      } catch (const EvalError& e) {
        rethrow(s, e);
      }
      Value loop = Value::dict();
      auto& o = *loop.object;
      o.set("index", Value::integer(k + 1));
      o.set("index0", Value::integer(k));
      o.set("revindex", Value::integer(n - k));
      o.set("revindex0", Value::integer(n - k - 1));
      o.set("first", Value::boolean(k == 0));
      o.set("last", Value::boolean(k == n - 1));
      o.set("length", Value::integer(n));
      o.set("depth", Value::integer(1));
      o.set("depth0", Value::integer(0));
      o.set("previtem", k > 0 ? items[static_cast<size_t>(k - 1)] : Value::undefined("there is no previous item"));
      o.set("nextitem", k + 1 < n ? items[static_cast<size_t>(k + 1)] : Value::undefined("there is no next item"));
      o.set("cycle", Value::callable([k](CallArgs& a) -> Value {
              if (a.positional.empty()) throw EvalError("no items for cycling given");
              return a.positional[static_cast<size_t>(k) % a.positional.size()];
            }));
      iteration.vars["loop"] = loop;
      size_t start = out.size();
      Flow f = exec_list(s.body, iteration, out);
      const Value& item = items[static_cast<size_t>(k)];
      if (trace_ && &out == root_out_ && item.is_object() && item.object.get() == trace_->probe)
        trace_->iterations.emplace_back(start, out.size());
      if (f == Flow::brk) break;
    }
  }

  void exec_set(const Stmt& s, Scope& scope) {
    try {
      Value v = eval(*s.expr, scope);
      if (!s.text.empty()) {
        const Value* target = scope.find(s.targets[0]);
        if (!target || !target->is_object() || !target->object->is_namespace)
          throw EvalError("cannot assign attribute '" + s.text + "' on '" + s.targets[0] +
                          "': only namespace() objects can be assigned to");
        target->object->set(s.text, std::move(v));
        return;
      }
      bind(scope, s.targets, v);
    } catch (const EvalError& e) {
      rethrow(s, e);
    }
  }

  void define_macro(const Stmt& s, Scope& scope) {
    const Stmt* macro = &s;
    scope.vars[s.text] = Value::callable([this, macro](CallArgs& a) -> Value {
      Scope local{{}, &template_};
      if (a.positional.size() > macro->targets.size())
        throw EvalError("macro '" + macro->text + "' takes " + std::to_string(macro->targets.size()) +
                        " arguments, got " + std::to_string(a.positional.size()));
      for (size_t k = 0; k < macro->targets.size(); ++k) {
        const std::string& param = macro->targets[k];
        const Value* given = k < a.positional.size() ? &a.positional[k] : nullptr;
        for (const auto& [key, v] : a.keyword)
          if (key == param) given = &v;
        if (given) local.vars[param] = *given;
        else if (macro->defaults[k]) local.vars[param] = eval(*macro->defaults[k], local);
        else local.vars[param] = Value::undefined("parameter '" + param + "' was not provided");
      }
      for (const auto& [key, v] : a.keyword) {
        bool known = false;
        for (const auto& p : macro->targets) known = known || p == key;
        if (!known) throw EvalError("macro '" + macro->text + "' has no parameter '" + key + "'");
      }
      std::string captured;
      exec_list(macro->body, local, captured);
      return Value::string(std::move(captured));
    });
  }

  Value eval(const Expr& e, const Scope& scope) {
    try {
      return eval_inner(e, scope);
    } catch (const EvalError& err) {
      throw RenderError(e.line, e.column, dynamic_cast<const RaisedException*>(&err) != nullptr, err.what());
    }
  }

  CallArgs eval_args(const Expr& e, const Scope& scope, size_t first) {
    CallArgs a;
    for (size_t k = first; k < e.args.size(); ++k) a.positional.push_back(eval(*e.args[k], scope));
    for (const auto& [key, x] : e.kwargs) a.keyword.emplace_back(key, eval(*x, scope));
    return a;
  }

  Value eval_inner(const Expr& e, const Scope& scope) {
    switch (e.kind) {
      case ExprKind::literal: return e.literal;
      case ExprKind::name: {
        if (const Value* v = scope.find(e.name)) return *v;
        return global_function(e.name);
      }
      case ExprKind::list:
      case ExprKind::tuple: {
        std::vector<Value> items;
        for (const auto& x : e.args) items.push_back(eval(*x, scope));
        Value v = Value::list(std::move(items));
        v.tuple = e.kind == ExprKind::tuple;
        return v;
      }
      case ExprKind::dict: {
        Value d = Value::dict();
        for (size_t k = 0; k + 1 < e.args.size(); k += 2) {
          Value key = eval(*e.args[k], scope);
          if (!key.is_string()) throw EvalError("dict literal keys must be strings, got " + type_name(key));
          d.object->set(key.s, eval(*e.args[k + 1], scope));
        }
        return d;
      }
      case ExprKind::getattr: {
        Value obj = eval(*e.args[0], scope);
        need_defined(obj);
        if (obj.is_object())
          if (const Value* v = obj.object->find(e.name)) return *v;
        return Value::undefined("'" + type_name(obj) + " object' has no attribute '" + e.name + "'");
      }
      case ExprKind::getitem: {
        Value obj = eval(*e.args[0], scope);
        Value idx = eval(*e.args[1], scope);
        need_defined(obj);
        if ((obj.is_array() || obj.is_string()) &&
            (idx.type == Value::Type::integer || idx.type == Value::Type::boolean)) {
          int64_t k = idx.type == Value::Type::boolean ? idx.b : idx.i;
          if (obj.is_array()) {
            int64_t n = static_cast<int64_t>(obj.array->size());
            if (k < 0) k += n;
            if (k < 0 || k >= n) return Value::undefined(type_name(obj) + " object has no element " + to_str(idx));
            return (*obj.array)[static_cast<size_t>(k)];
          }
          std::u32string cps = utf8_decode(obj.s);
          int64_t n = static_cast<int64_t>(cps.size());
          if (k < 0) k += n;
          if (k < 0 || k >= n) return Value::undefined("str object has no element " + to_str(idx));
          return Value::string(utf8_encode(std::u32string(1, cps[static_cast<size_t>(k)])));
        }
        if (obj.is_object() && idx.is_string())
          if (const Value* v = obj.object->find(idx.s)) return *v;
        return Value::undefined("'" + type_name(obj) + " object' has no attribute " + repr(idx));
      }
      case ExprKind::slice: {
        Value obj = eval(*e.args[0], scope);
        need_defined(obj);
        Value parts[3];
        for (int k = 0; k < 3; ++k)
          if (e.args[k + 1]) parts[k] = eval(*e.args[k + 1], scope);
        return slice_value(obj, e.args[1] ? &parts[0] : nullptr, e.args[2] ? &parts[1] : nullptr,
                           e.args[3] ? &parts[2] : nullptr);
      }
      case ExprKind::call: {
        const Expr& callee = *e.args[0];
        if (callee.kind == ExprKind::getattr) {
          Value obj = eval(*callee.args[0], scope);
          need_defined(obj);
          CallArgs a = eval_args(e, scope, 1);
          if (obj.is_object()) {
            const Value* member = obj.object->find(callee.name);
            if (member && member->type == Value::Type::function) return (*member->function)(a);
            if (obj.object->is_namespace) throw EvalError("namespace has no callable '" + callee.name + "'");
          }
          return call_method(obj, callee.name, a);
        }
        Value fn = eval(callee, scope);
        if (fn.type != Value::Type::function) {
          need_defined(fn);
          throw EvalError("'" + type_name(fn) + "' object is not callable");
        }
        CallArgs a = eval_args(e, scope, 1);
        return (*fn.function)(a);
      }
      case ExprKind::filter: {
        Value v = eval(*e.args[0], scope);
        CallArgs a = eval_args(e, scope, 1);
        if (v.is_undefined() && e.name != "default" && e.name != "d" && e.name != "length" && e.name != "count" &&
            e.name != "string" && e.name != "trim" && e.name != "list" && e.name != "items" && e.name != "join" &&
            e.name != "lower" && e.name != "upper")
          need_defined(v);
        return apply_filter(e.name, v, a);
      }
      case ExprKind::test: {
        Value v = eval(*e.args[0], scope);
        CallArgs a = eval_args(e, scope, 1);
        return Value::boolean(apply_test(e.name, v, a) != e.negated);
      }
      case ExprKind::unary: {
        Value v = eval(*e.args[0], scope);
        if (e.name == "not") return Value::boolean(!truthy(v));
        need_defined(v);
        if (v.type == Value::Type::integer || v.type == Value::Type::boolean) {
          int64_t x = v.type == Value::Type::boolean ? v.b : v.i;
          return Value::integer(e.name == "-" ? -x : x);
        }
        if (v.type == Value::Type::floating) return Value::floating(e.name == "-" ? -v.d : v.d);
        throw EvalError("bad operand type for unary " + e.name + ": '" + type_name(v) + "'");
      }
      case ExprKind::binary: {
        const std::string& op = e.name;
        Value a = eval(*e.args[0], scope);
        if (op == "and") return truthy(a) ? eval(*e.args[1], scope) : a;
        if (op == "or") return truthy(a) ? a : eval(*e.args[1], scope);
        Value b = eval(*e.args[1], scope);
        if (op == "~") return Value::string(to_str(a) + to_str(b));
        if (op == "==") return Value::boolean(equals(a, b));
        if (op == "!=") return Value::boolean(!equals(a, b));
        if (op == "in") return Value::boolean(contains(b, a));
        if (op == "notin") return Value::boolean(!contains(b, a));
        if (op == "<" || op == "<=" || op == ">" || op == ">=") {
          need_defined(a);
          need_defined(b);
          int c = compare(a, b);
          return Value::boolean(op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0);
        }
        return arithmetic(op, a, b);
      }
      case ExprKind::condition: {
        if (truthy(eval(*e.args[1], scope))) return eval(*e.args[0], scope);
        if (e.args[2]) return eval(*e.args[2], scope);
        return Value::undefined("the inline if-expression evaluated to false and no else section was defined");
      }
    }
    throw EvalError("internal error: unknown expression kind");
  }
};

}  // namespace

std::string render_program(const StmtList& program, const Value& context, RenderTrace* trace) {
  Renderer r(context, trace);
  return r.run(program);
}

}  // namespace r1kit::tokenizer::jinja
