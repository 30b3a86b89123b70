// `r1kit tokenize`: debugging aid — token ids and pieces of a text under a tokenizer directory.
//   r1kit tokenize --tokenizer DIR --text "Hello world" [--no-special] [--decode "1 2 3"]
#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "tokenizer/tokenizer.h"

namespace r1kit::cli {

void register_tokenize(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids and pieces of a text (tokenizer.json debugging)");
  auto dir = std::make_shared<std::string>();
  auto text = std::make_shared<std::string>();
  auto decode_ids = std::make_shared<std::string>();
  auto no_special = std::make_shared<bool>(false);
  cmd->add_option("--tokenizer", *dir, "Directory with tokenizer.json (+ tokenizer_config.json)")->required();
  cmd->add_option("--text", *text, "Text to encode");
  cmd->add_option("--decode", *decode_ids, "Space-separated ids to decode instead of encoding --text");
  cmd->add_flag("--no-special", *no_special, "Do not add the post-processor's special tokens (BOS/EOS)");
  cmd->callback([=] {
    const auto tok = tokenizer::Tokenizer::from_dir(*dir);
    std::vector<int32_t> ids;
    if (!decode_ids->empty()) {
      std::istringstream in(*decode_ids);
      for (int32_t id; in >> id;) ids.push_back(id);
    } else {
      ids = tok.encode(*text, !*no_special);
    }
    std::printf("vocab_size %zu, %zu tokens\nids %s\n", tok.vocab_size(), ids.size(), nlohmann::json(ids).dump().c_str());
    for (size_t i = 0; i < ids.size(); ++i) {
      const int32_t id = ids[i];
      const std::string piece = tok.decode(std::span<const int32_t>(&ids[i], 1));
      std::printf("%5zu %8d %-24s %s%s\n", i, id, nlohmann::json(tok.id_to_token(id)).dump().c_str(),
                  nlohmann::json(piece).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str(),
                  tok.is_special(id) ? "  (special)" : "");
    }
    std::printf("decoded %s\n",
                nlohmann::json(tok.decode(ids)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  });
}

}  // namespace r1kit::cli
