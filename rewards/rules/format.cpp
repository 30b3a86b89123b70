// format and tag_count: the R1 response template "<think> reasoning </think> <answer> answer </answer>"
// (DeepSeek-R1 §2.2.2 "format rewards", Table 1 template).
#include <memory>
#include <string>
#include <string_view>

#include "core/strings.h"
#include "rewards/rules/rule_factories.h"

namespace r1kit::rewards::rules {
namespace {

size_t count(std::string_view s, std::string_view needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string_view::npos; p = s.find(needle, p + needle.size())) ++n;
  return n;
}

bool blank(std::string_view s) { return trim(s).empty(); }

enum class Mode { kAuto, kTags, kOpenThink };

Mode read_mode(const ConfigReader& args) {
  std::string m = args.get_choice("mode", "auto", {"auto", "tags", "open_think"});
  return m == "tags" ? Mode::kTags : m == "open_think" ? Mode::kOpenThink : Mode::kAuto;
}

bool open_think(Mode mode, std::string_view prompt) {
  return mode == Mode::kOpenThink || (mode == Mode::kAuto && prompt_opens_think(prompt));
}

// "<answer>X</answer>" with nothing else around it (whitespace aside), X non-blank, one pair only.
bool answer_block_ok(std::string_view rest) {
  rest = trim(rest);
  if (count(rest, "<answer>") != 1 || count(rest, "</answer>") != 1) return false;
  if (!starts_with(rest, "<answer>") || !ends_with(rest, "</answer>")) return false;
  return !blank(rest.substr(8, rest.size() - 8 - 9));
}

/// format: 1 if the completion follows the template exactly, else 0.
///  tags mode:       "<think>R</think> <answer>A</answer>", R and A non-blank, one of each tag, nothing after.
///  open_think mode: the prompt ended with "<think>": "R</think> A" with no further think tags, R and A non-blank;
///                   if A uses answer tags they must form one block with nothing after it.
/// "auto" (default) picks open_think when the prompt ends with "<think>".
class FormatRewarder : public Rewarder {
 public:
  FormatRewarder(std::string name, Mode mode) : name_(std::move(name)), mode_(mode) {}
  std::string name() const override { return name_; }
  double score(const Sample& s) const override {
    std::string_view c = s.completion;
    if (count(c, "</think>") != 1) return 0.0;
    size_t close = c.find("</think>");
    std::string_view rest = c.substr(close + 8);
    if (count(rest, "<think>") != 0) return 0.0;
    if (open_think(mode_, s.prompt)) {
      if (count(c, "<think>") != 0 || blank(c.substr(0, close)) || blank(rest)) return 0.0;
      if (rest.find("<answer>") != std::string_view::npos || rest.find("</answer>") != std::string_view::npos)
        return answer_block_ok(rest) ? 1.0 : 0.0;
      return 1.0;
    }
    std::string_view head = trim(c.substr(0, close));
    if (count(head, "<think>") != 1 || !starts_with(head, "<think>") || blank(head.substr(7))) return 0.0;
    return answer_block_ok(rest) ? 1.0 : 0.0;
  }

 private:
  std::string name_;
  Mode mode_;
};

/// tag_count: 0.25 for each of "<think>\n", "\n</think>\n", "\n<answer>\n", "\n</answer>" occurring exactly once
/// (open-r1 `tag_count_reward`, src/open_r1/rewards.py). In open_think mode the prompt's "<think>\n" counts.
class TagCountRewarder : public Rewarder {
 public:
  TagCountRewarder(std::string name, Mode mode) : name_(std::move(name)), mode_(mode) {}
  std::string name() const override { return name_; }
  double score(const Sample& s) const override {
    std::string text;
    if (open_think(mode_, s.prompt)) {
      std::string_view p = s.prompt;
      text = std::string(p.substr(p.rfind("<think>") == std::string_view::npos ? p.size() : p.rfind("<think>")));
    }
    text += s.completion;
    double r = 0.0;
    for (std::string_view tag : {"<think>\n", "\n</think>\n", "\n<answer>\n", "\n</answer>"})
      if (count(text, tag) == 1) r += 0.25;
    return r;
  }

 private:
  std::string name_;
  Mode mode_;
};

}  // namespace

std::unique_ptr<Rewarder> make_format(const ConfigReader& args, const std::string& name) {
  return std::make_unique<FormatRewarder>(name, read_mode(args));
}
std::unique_ptr<Rewarder> make_tag_count(const ConfigReader& args, const std::string& name) {
  return std::make_unique<TagCountRewarder>(name, read_mode(args));
}

}  // namespace r1kit::rewards::rules
