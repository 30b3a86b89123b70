// Rebuilding Hugging Face tokenizer files (tokenizer.json, tokenizer_config.json) from a GGUF's tokenizer
// metadata (`tokenizer.ggml.*`, `tokenizer.chat_template`).
//
// Only byte-level BPE vocabularies (`tokenizer.ggml.model` = "gpt2": GPT-2, Llama-3, Qwen2, SmolLM…) are rebuilt.
// The pre-tokenizer is chosen from `tokenizer.ggml.pre` as llama.cpp's `llama-vocab.cpp` does:
//   smollm, starcoder, refact, command-r, codeshell, exaone, minerva -> Digits(individual) + ByteLevel (GPT-2 regex),
//       which is what SmolLM2's own tokenizer.json holds;
//   llama-bpe, llama3, llama-v3, falcon3, dbrx, smaug-bpe           -> Split(Llama-3 regex) + ByteLevel;
//   qwen2, deepseek-r1-qwen                                          -> Split(Qwen2 regex) + ByteLevel;
//   anything else (gpt2, default, …)                                 -> ByteLevel with the GPT-2 regex.
// Tokens typed CONTROL (3) become special added tokens, USER_DEFINED (4) non-special added tokens (as transformers'
// GGUF loader does). Vocabulary entries outside the byte-level alphabet are respelled byte by byte.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "model/gguf.h"

namespace r1kit::model {

/// True when the GGUF's tokenizer can be rebuilt (tokenizer.ggml.model == "gpt2" with tokens and merges).
bool gguf_has_byte_level_bpe(const GgufFile& gguf);

/// tokenizer.json (tokenizers 0.20+ layout: merges as [left, right] pairs). Throws CheckpointError naming the key
/// when tokens/merges are missing or the model is not byte-level BPE.
nlohmann::ordered_json gguf_tokenizer_json(const GgufFile& gguf);

/// tokenizer_config.json: bos/eos/unk/pad tokens (strings), add_bos_token, add_eos_token, chat_template,
/// model_max_length (= context length), tokenizer_class "PreTrainedTokenizerFast", clean_up_tokenization_spaces.
nlohmann::ordered_json gguf_tokenizer_config(const GgufFile& gguf, int64_t model_max_length);

}  // namespace r1kit::model
