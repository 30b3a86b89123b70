// r1kit error hierarchy. One exception type per domain, all deriving from r1kit::Error, so the CLI can catch
// r1kit::Error, print what() and exit 1. A user error says what was wrong, where (file:line, JSON path, record
// number, tensor name) and how to fix it. Bad *model output* is never an error (rewarders score it 0).
#pragma once

#include <stdexcept>
#include <string>

namespace r1kit {

/// Base of every error r1kit throws on purpose.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// Configuration: unknown key, wrong type, bad value, bad `--set` override. Message names the JSON path.
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// File system and I/O: missing file, unreadable, failed atomic write. Message names the path.
class IoError : public Error {
 public:
  using Error::Error;
};

/// Malformed data file (JSONL record, dataset field). Message names file and record number.
class DataError : public Error {
 public:
  using Error::Error;
};

/// Checkpoint formats (safetensors, GGUF, config.json): corrupt header, missing/extra tensor, shape or dtype
/// mismatch, unknown architecture. Message names the file and the tensor or key.
class CheckpointError : public Error {
 public:
  using Error::Error;
};

/// Invalid argument to a library call (programming or usage error caught at an API boundary).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

}  // namespace r1kit
