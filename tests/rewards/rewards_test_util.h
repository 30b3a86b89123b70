// Helpers shared by the rewards tests.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "rewards/rewarder.h"

namespace r1kit::rewards::rtest {

/// Creates a rewarder of `type` with `args` (throws ConfigError on bad args).
inline std::unique_ptr<Rewarder> make(const std::string& type, const nlohmann::json& args = nlohmann::json::object()) {
  return create_rewarder(type, args, type, "$.rewards[0]");
}

/// Score of one completion against a record.
inline double score(const Rewarder& r, const std::string& completion, const nlohmann::json& record,
                    const std::string& prompt = "", bool truncated = false, int64_t tokens = 0) {
  Sample s{prompt, completion, record, truncated, tokens};
  return r.score(s);
}

}  // namespace r1kit::rewards::rtest
