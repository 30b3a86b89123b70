// Registration of the built-in rewarder families. registry.cpp calls register_builtin_rewarders() once, lazily,
// before the first lookup (static initialisers in a static library would be dropped by the linker).
#pragma once

namespace r1kit::rewards {

void register_builtin_rewarders();  // registry.cpp: calls every family below once (thread-safe)

void register_math_rewarders();     // math/: math_accuracy
void register_rule_rewarders();     // format, tag_count, reasoning_steps, length, repetition, overlong,
                                    // language_consistency, countdown
void register_code_rewarders();     // code/: code_execution
void register_custom_rewarders();   // regex, plugin, command

}  // namespace r1kit::rewards
