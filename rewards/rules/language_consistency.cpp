// language_consistency: the proportion of target-language words in the reasoning (DeepSeek-R1 §2.3.2,
// "language consistency reward ... calculated as the proportion of target language words in the CoT").
//
// Words: runs of letters (Unicode L*/M* categories) split at anything else; characters of scripts written without
// spaces (Han, Hiragana, Katakana, Thai) count one word each. LaTeX commands (\frac), $…$ math and single-letter
// Greek words (π, α: math symbols) are not counted. A word is target-language when
//   1. every letter is in a script of the target language (Latin for en/fr/de/…, Han for zh, Han+kana for ja,
//      Hangul+Han for ko, Cyrillic for ru/uk/…, Arabic for ar/fa/ur, …) — so stray Chinese or Arabic characters in
//      an English or French reasoning are penalised; and
//   2. CLD2 (libcld2) does not reliably detect another language as the main one of its sentence: a sentence
//      reliably detected as mainly another language contributes its target-language share (CLD2 percent3) for
//      each of its target-script words; sentences under 24 bytes or unreliable detections count fully.
// score = Σ word weights / counted words; NaN when there are no counted words (not applicable).
// Args: language ("en", an ISO 639-1 code as CLD2 reports it), where ("reasoning": the text before </think>,
// without "<think>", or the whole completion when there is no </think>; "completion").
#include <cstdio>  // compact_lang_det.h uses FILE without including it

#include <cld2/public/compact_lang_det.h>
#include <cld2/public/encodings.h>
#include <utf8proc.h>

#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/strings.h"
#include "rewards/rules/rule_factories.h"

namespace r1kit::rewards::rules {
namespace {

enum class Script { kOther, kLatin, kGreek, kCyrillic, kArabic, kHebrew, kDevanagari, kThai, kHangul, kHiragana,
                    kKatakana, kHan };

Script script_of(int32_t cp) {
  if ((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') || (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) ||
      (cp >= 0x1E00 && cp <= 0x1EFF))
    return Script::kLatin;
  if (cp >= 0x370 && cp <= 0x3FF) return Script::kGreek;
  if (cp >= 0x400 && cp <= 0x52F) return Script::kCyrillic;
  if ((cp >= 0x600 && cp <= 0x6FF) || (cp >= 0x750 && cp <= 0x77F) || (cp >= 0xFB50 && cp <= 0xFEFF))
    return Script::kArabic;
  if (cp >= 0x590 && cp <= 0x5FF) return Script::kHebrew;
  if (cp >= 0x900 && cp <= 0x97F) return Script::kDevanagari;
  if (cp >= 0xE00 && cp <= 0xE7F) return Script::kThai;
  if ((cp >= 0xAC00 && cp <= 0xD7AF) || (cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0x3130 && cp <= 0x318F))
    return Script::kHangul;
  if (cp >= 0x3040 && cp <= 0x309F) return Script::kHiragana;
  if (cp >= 0x30A0 && cp <= 0x30FF) return Script::kKatakana;
  if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
      (cp >= 0x20000 && cp <= 0x2FFFF))
    return Script::kHan;
  return Script::kOther;
}

bool unspaced(Script s) {
  return s == Script::kHan || s == Script::kHiragana || s == Script::kKatakana || s == Script::kThai;
}

std::set<Script> scripts_for(const std::string& lang) {
  static const std::map<std::string, std::set<Script>> table = {
      {"zh", {Script::kHan}},
      {"ja", {Script::kHan, Script::kHiragana, Script::kKatakana}},
      {"ko", {Script::kHangul, Script::kHan}},
      {"ru", {Script::kCyrillic}}, {"uk", {Script::kCyrillic}}, {"bg", {Script::kCyrillic}},
      {"sr", {Script::kCyrillic}}, {"be", {Script::kCyrillic}}, {"kk", {Script::kCyrillic}},
      {"ar", {Script::kArabic}}, {"fa", {Script::kArabic}}, {"ur", {Script::kArabic}},
      {"he", {Script::kHebrew}}, {"iw", {Script::kHebrew}}, {"hi", {Script::kDevanagari}},
      {"mr", {Script::kDevanagari}}, {"ne", {Script::kDevanagari}}, {"th", {Script::kThai}},
      {"el", {Script::kGreek}}};
  auto it = table.find(lang);
  return it == table.end() ? std::set<Script>{Script::kLatin} : it->second;
}

struct Word {
  Script script;  // kOther when the letters mix scripts
  size_t sentence;
};

class LanguageConsistency : public Rewarder {
 public:
  LanguageConsistency(std::string name, std::string language, bool reasoning_only)
      : name_(std::move(name)), language_(std::move(language)), scripts_(scripts_for(language_)),
        reasoning_only_(reasoning_only) {}
  std::string name() const override { return name_; }

  double score(const Sample& s) const override {
    std::string_view text = s.completion;
    if (reasoning_only_) {
      size_t close = text.find("</think>");
      if (close != std::string_view::npos) text = text.substr(0, close);
      size_t open = text.find("<think>");
      if (open != std::string_view::npos) text = text.substr(open + 7);
    }
    if (text.size() > 200000) text = text.substr(0, 200000);  // bounded work
    // Pass 1: words, sentences (plain text of each sentence for CLD2).
    std::vector<Word> words;
    std::vector<std::string> sentences(1);
    const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
    utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(text.size());
    bool in_math = false, in_command = false;
    Script cur = Script::kOther;
    size_t cur_len = 0;
    bool cur_mixed = false;
    auto flush = [&] {
      if (cur_len > 0 && !(cur == Script::kGreek && cur_len == 1 && !scripts_.contains(Script::kGreek)))
        words.push_back({cur_mixed ? Script::kOther : cur, sentences.size() - 1});
      cur_len = 0;
      cur_mixed = false;
    };
    while (left > 0) {
      utf8proc_int32_t cp;
      utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
      if (n <= 0) {
        cp = 0xFFFD;
        n = 1;
      }
      std::string_view bytes(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
      p += n;
      left -= n;
      if (cp == '$') {
        flush();
        in_math = !in_math;
        continue;
      }
      if (in_math) continue;
      if (cp == '\\') {
        flush();
        in_command = true;
        continue;
      }
      utf8proc_category_t cat = utf8proc_category(cp);
      bool letter = (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_ME);
      if (in_command) {
        if (letter && cp < 128) continue;
        in_command = false;
      }
      if (letter) {
        Script sc = script_of(cp);
        if (unspaced(sc)) {
          flush();
          cur = sc;
          cur_len = 1;
          flush();
          sentences.back() += bytes;
          continue;
        }
        if (cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_ME) {  // combining mark: stays with its word
          sentences.back() += bytes;
          continue;
        }
        if (cur_len == 0) cur = sc;
        else if (sc != cur) cur_mixed = true;
        ++cur_len;
        sentences.back() += bytes;
        continue;
      }
      flush();
      sentences.back() += bytes;
      if (cp == '.' || cp == '!' || cp == '?' || cp == '\n' || cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F)
        sentences.emplace_back();
    }
    flush();
    if (words.empty()) return std::nan("");
    // Pass 2: CLD2 share of the target language per sentence (only sentences that hold target-script words).
    std::vector<double> share(sentences.size(), -1.0);
    double total = 0.0;
    for (const Word& w : words) {
      if (!scripts_.contains(w.script)) continue;
      double& sh = share[w.sentence];
      if (sh < 0) sh = target_share(sentences[w.sentence]);
      total += sh;
    }
    return total / static_cast<double>(words.size());
  }

 private:
  double target_share(const std::string& sentence) const {
    if (sentence.size() < 24) return 1.0;  // too short for a reliable detection
    CLD2::Language lang3[3];
    int percent3[3];
    int text_bytes = 0;
    bool reliable = false;
    CLD2::DetectLanguageSummary(sentence.data(), static_cast<int>(sentence.size()), true, lang3, percent3,
                                &text_bytes, &reliable);
    if (!reliable) return 1.0;
    int sum = 0, target = 0;
    for (int i = 0; i < 3; ++i) {
      if (lang3[i] == CLD2::UNKNOWN_LANGUAGE) continue;
      sum += percent3[i];
      std::string code = CLD2::LanguageCode(lang3[i]);
      bool is_target = code == language_ || starts_with(code, language_ + "-");
      if (is_target && i == 0) return 1.0;  // the sentence is mainly in the target language
      if (is_target) target += percent3[i];
    }
    return sum == 0 ? 1.0 : static_cast<double>(target) / sum;
  }

  std::string name_, language_;
  std::set<Script> scripts_;
  bool reasoning_only_;
};

}  // namespace

std::unique_ptr<Rewarder> make_language_consistency(const ConfigReader& args, const std::string& name) {
  std::string language = args.get("language", "en");
  if (language.size() < 2 || language.size() > 7)
    args.fail("language", "must be an ISO 639-1 code as CLD2 reports it, e.g. \"en\", \"fr\", \"zh\"");
  bool reasoning = args.get_choice("where", "reasoning", {"reasoning", "completion"}) == "reasoning";
  return std::make_unique<LanguageConsistency>(name, language, reasoning);
}

}  // namespace r1kit::rewards::rules
