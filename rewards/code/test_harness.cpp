#include "rewards/code/test_harness.h"

#include <charconv>

namespace r1kit::rewards::code {

namespace {

// Runs inside the sandbox as `python3 -I -c <this>`. Imports only cheap modules (no json/re: ~25 ms saved).
const char* const kHarness = R"PY(
import builtins, os, select, signal, sys, time

def fields(data):
    out, i = [], 0
    while i < len(data):
        j = data.index(b":", i)
        n = int(data[i:j])
        out.append(data[j + 1:j + 1 + n])
        i = j + 1 + n
    return out

def emit(data):
    while data:
        data = data[os.write(1, data):]

def record(k, verdict, ms, payload=b""):
    emit(b"R %d %s %d %d\n" % (k, verdict, ms, len(payload)) + payload)

def describe(e):
    try:
        return ("%s: %s" % (type(e).__name__, str(e)[:300])).encode("utf-8", "replace")
    except BaseException:
        return b"error"

def read_file(path, limit, tail=False):
    try:
        with open(path, "rb") as fh:
            if tail:
                size = os.fstat(fh.fileno()).st_size
                fh.seek(max(0, size - limit))
            return fh.read(limit)
    except OSError:
        return b""

def remove_tree(path):
    try:
        for root, dirs, files in os.walk(path, topdown=False):
            for name in files:
                os.unlink(os.path.join(root, name))
            for name in dirs:
                p = os.path.join(root, name)
                if os.path.islink(p):
                    os.unlink(p)
                else:
                    os.rmdir(p)
        os.rmdir(path)
    except OSError:
        pass

def kill_strays():
    # Only as PID 1 of the sandbox's PID namespace: every other process there descends from a test.
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != 1:
            try:
                os.kill(int(name), signal.SIGKILL)
            except OSError:
                pass
    while True:  # orphans were re-parented to us: reap them
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break

def child(stdio, code, test, magic, wd, fin, fout, ferr):
    _exit = os._exit
    status = 2
    try:
        os.setsid()
        os.makedirs(wd, exist_ok=True)
        os.chdir(wd)
        os.dup2(os.open(fin, os.O_RDONLY), 0)
        os.dup2(os.open(fout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)
        os.dup2(os.open(ferr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
        os.closerange(3, 4096)
        sys.stdin = open(0, "r", encoding="utf-8", errors="replace", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False)
        status = magic
        ns = {"__name__": "__main__", "__builtins__": builtins}
        try:
            exec(code, ns)
            if test is not None:
                exec(test, ns)
        except SystemExit as e:
            if test is not None or e.code not in (None, 0):
                status = 1
                sys.stderr.write("\nSystemExit: %r\n" % (e.code,))
        except BaseException as e:
            status = 1
            sys.stderr.write("\n" + describe(e).decode("utf-8", "replace") + "\n")
        try:
            sys.stdout.flush()
        except BaseException:
            status = 1
        sys.stderr.flush()
    except BaseException:
        pass
    _exit(status)

def wait_for(pid, timeout):
    timed_out = False
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = -1
    if fd >= 0:
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
        finally:
            os.close(fd)
        timed_out = not ready
    else:
        end = time.monotonic() + timeout
        while True:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                break
            if time.monotonic() >= end:
                timed_out = True
                break
            time.sleep(0.002)
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return os.waitpid(pid, 0)[1], timed_out

def main():
    f = fields(sys.stdin.buffer.read())
    stdio, timeout, nproc, sandboxed, program, tests = f[0] == b"stdio", float(f[1]), int(f[2]), f[3] == b"1", f[4], f[5:]
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    except BaseException:
        pass
    try:
        import ctypes
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
    except BaseException:
        pass
    strays = sandboxed and os.getpid() == 1
    base = os.getcwd()
    io = os.path.join(base, ".r1kit_io")
    os.makedirs(io, 0o700, exist_ok=True)
    n = len(tests) // 2 if stdio else len(tests)
    emit(b"READY\n")
    try:
        code = compile(program.decode("utf-8", "replace"), "<solution>", "exec")
    except BaseException as e:
        for k in range(n):
            record(k, b"error", 0, describe(e))
        emit(b"DONE\n")
        return
    for k in range(n):
        test, cap = None, 0
        fin, fout, ferr = os.path.join(io, "in%d" % k), os.path.join(io, "out%d" % k), os.path.join(io, "err%d" % k)
        if stdio:
            cap = int(tests[2 * k + 1])
            with open(fin, "wb") as fh:
                fh.write(tests[2 * k])
        else:
            fin = fout = os.devnull
            try:
                test = compile(tests[k].decode("utf-8", "replace"), "<test %d>" % k, "exec")
            except BaseException as e:
                record(k, b"bad_test", 0, describe(e))
                continue
        magic = 3 + os.urandom(1)[0] % 200
        wd = os.path.join(base, "t%d" % k)
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:
            child(stdio, code, test, magic, wd, fin, fout, ferr)
        status, timed_out = wait_for(pid, timeout)
        ms = int((time.monotonic() - t0) * 1000)
        if strays:
            kill_strays()
        payload = b""
        if timed_out:
            verdict = b"timeout"
        elif os.WIFSIGNALED(status):
            verdict = b"signal%d" % os.WTERMSIG(status)
        else:
            c = os.WEXITSTATUS(status)
            if c == magic or (stdio and c == 0):
                verdict = b"ran" if stdio else b"pass"
            else:
                verdict = b"error" if c == 1 else b"exit%d" % c
        if verdict == b"ran":
            payload = read_file(fout, cap + 1)
        else:
            payload = read_file(ferr, 400, tail=True)
        record(k, verdict, ms, payload)
        for p in (fin, fout, ferr):
            if p != os.devnull:
                try:
                    os.unlink(p)
                except OSError:
                    pass
        remove_tree(wd)
    emit(b"DONE\n")

main()
)PY";

void put_field(std::string& out, std::string_view v) {
  out += std::to_string(v.size());
  out += ':';
  out += v;
}

const nlohmann::json* string_field(const nlohmann::json& record, const char* key) {
  if (!record.is_object()) return nullptr;
  auto it = record.find(key);
  return it != record.end() && it->is_string() ? &*it : nullptr;
}

void append_strings(const nlohmann::json* list, std::vector<std::string>& out) {
  if (list == nullptr || !list->is_array()) return;
  for (const auto& t : *list)
    if (t.is_string() && !t.get_ref<const std::string&>().empty()) out.push_back(t.get<std::string>());
}

std::optional<TestSuite> humaneval_tests(const nlohmann::json& record, std::string_view code, const TestOptions& o) {
  const auto* test = string_field(record, "test");
  const auto* entry = string_field(record, "entry_point");
  if (test == nullptr || entry == nullptr) return std::nullopt;
  TestSuite s;
  const auto* prompt = string_field(record, "prompt");
  if (o.prepend_prompt && prompt != nullptr) s.program = prompt->get<std::string>() + "\n";
  s.program += code;
  s.asserts.push_back(test->get<std::string>() + "\n\ncheck(" + entry->get<std::string>() + ")\n");
  return s;
}

std::optional<TestSuite> mbpp_tests(const nlohmann::json& record, std::string_view code, const TestOptions& o) {
  if (!record.is_object() || !record.contains("test_list") || !record["test_list"].is_array()) return std::nullopt;
  TestSuite s;
  if (const auto* setup = string_field(record, "test_setup_code")) s.program += setup->get<std::string>() + "\n";
  if (auto it = record.find("test_imports"); it != record.end() && it->is_array())
    for (const auto& imp : *it)
      if (imp.is_string()) s.program += imp.get<std::string>() + "\n";
  s.program += code;
  append_strings(&record["test_list"], s.asserts);
  if (o.mbpp_challenge_tests && record.contains("challenge_test_list"))
    append_strings(&record["challenge_test_list"], s.asserts);
  if (s.asserts.empty()) return std::nullopt;
  return s;
}

std::optional<TestSuite> stdio_tests(const nlohmann::json& record, std::string_view code, const TestOptions& o) {
  if (!record.is_object()) return std::nullopt;
  auto it = record.find(o.stdio_field);
  if (it == record.end()) return std::nullopt;
  TestSuite s;
  s.stdio = true;
  s.program = code;
  if (it->is_array()) {
    for (const auto& c : *it) {
      if (!c.is_object() || !c.contains("input") || !c.contains("output") || !c["input"].is_string() ||
          !c["output"].is_string())
        return std::nullopt;
      s.io.emplace_back(c["input"].get<std::string>(), c["output"].get<std::string>());
    }
  } else if (it->is_object() && it->contains("inputs") && it->contains("outputs")) {
    const auto& in = (*it)["inputs"];
    const auto& out = (*it)["outputs"];
    if (!in.is_array() || !out.is_array() || in.size() != out.size()) return std::nullopt;
    for (size_t i = 0; i < in.size(); ++i) {
      if (!in[i].is_string() || !out[i].is_string()) return std::nullopt;
      s.io.emplace_back(in[i].get<std::string>(), out[i].get<std::string>());
    }
  } else {
    return std::nullopt;
  }
  if (s.io.empty()) return std::nullopt;
  return s;
}

std::vector<std::string_view> normalized_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (true) {
    const size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r' ||
                             line.back() == '\f' || line.back() == '\v'))
      line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

}  // namespace

std::optional<TestSuite> tests_from_record(const nlohmann::json& record, std::string_view code,
                                           const TestOptions& options) {
  switch (options.format) {
    case TestFormat::humaneval: return humaneval_tests(record, code, options);
    case TestFormat::mbpp: return mbpp_tests(record, code, options);
    case TestFormat::stdio: return stdio_tests(record, code, options);
    case TestFormat::automatic: break;
  }
  if (auto s = humaneval_tests(record, code, options)) return s;
  if (auto s = mbpp_tests(record, code, options)) return s;
  return stdio_tests(record, code, options);
}

const std::string& harness_source() {
  static const std::string source(kHarness);
  return source;
}

size_t stdio_output_cap(std::string_view expected) { return 2 * expected.size() + (64 << 10); }

std::string encode_harness_input(const TestSuite& suite, double test_timeout_s, int max_processes, bool sandboxed) {
  std::string out;
  put_field(out, suite.stdio ? "stdio" : "assert");
  put_field(out, std::to_string(test_timeout_s));
  put_field(out, std::to_string(max_processes));
  put_field(out, sandboxed ? "1" : "0");
  put_field(out, suite.program);
  if (suite.stdio) {
    for (const auto& [in, expected] : suite.io) {
      put_field(out, in);
      put_field(out, std::to_string(stdio_output_cap(expected)));
    }
  } else {
    for (const auto& t : suite.asserts) put_field(out, t);
  }
  return out;
}

bool outputs_match(std::string_view expected, std::string_view actual) {
  return normalized_lines(expected) == normalized_lines(actual);
}

size_t HarnessReport::passed() const {
  size_t n = 0;
  for (const auto& v : verdicts) n += v && v->passed ? 1 : 0;
  return n;
}

HarnessReport parse_harness_output(std::string_view out, const TestSuite& suite) {
  HarnessReport rep;
  rep.verdicts.resize(suite.size());
  constexpr std::string_view kReady = "READY\n";
  if (out.substr(0, kReady.size()) != kReady) return rep;
  rep.ready = true;
  size_t pos = kReady.size();
  while (pos < out.size()) {
    if (out.substr(pos) == "DONE\n") {
      rep.done = true;
      break;
    }
    const size_t nl = out.find('\n', pos);
    if (nl == std::string_view::npos || out[pos] != 'R') break;
    // "R <index> <verdict> <ms> <len>"
    const std::string_view header = out.substr(pos + 1, nl - pos - 1);
    std::vector<std::string_view> parts;
    size_t p = 0;
    while (p < header.size()) {
      while (p < header.size() && header[p] == ' ') ++p;
      const size_t e = header.find(' ', p);
      const size_t end = e == std::string_view::npos ? header.size() : e;
      if (end > p) parts.push_back(header.substr(p, end - p));
      p = end;
    }
    if (parts.size() != 4) break;
    size_t index = 0, len = 0;
    int ms = 0;
    auto num = [](std::string_view s, auto& v) {
      return std::from_chars(s.data(), s.data() + s.size(), v).ec == std::errc();
    };
    if (!num(parts[0], index) || !num(parts[2], ms) || !num(parts[3], len)) break;
    if (nl + 1 + len > out.size()) break;  // cut off by the kill
    const std::string_view payload = out.substr(nl + 1, len);
    pos = nl + 1 + len;
    if (index >= rep.verdicts.size() || rep.verdicts[index]) continue;
    TestVerdict v;
    v.verdict = std::string(parts[1]);
    v.ms = ms;
    if (suite.stdio && v.verdict == "ran") {
      const auto& expected = suite.io[index].second;
      if (payload.size() > stdio_output_cap(expected)) {
        v.verdict = "output_limit";
      } else {
        v.passed = outputs_match(expected, payload);
        v.verdict = v.passed ? "pass" : "wrong_output";
      }
    } else {
      v.passed = !suite.stdio && v.verdict == "pass";
      if (!v.passed) v.detail = std::string(payload);
    }
    rep.verdicts[index] = std::move(v);
  }
  return rep;
}

}  // namespace r1kit::rewards::code
