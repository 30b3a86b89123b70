// Helpers shared by the model tests.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <string>

#include "error_model.h"  // max_abs_diff, max_rel_diff, within, the float32 error model

namespace r1kit::test {

inline std::filesystem::path fixtures() { return std::filesystem::path(R1KIT_FIXTURES_DIR); }

/// A fresh empty directory under the system temp dir, removed at destruction.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag) {
    path = std::filesystem::temp_directory_path() /
           ("r1kit_test_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

}  // namespace r1kit::test
