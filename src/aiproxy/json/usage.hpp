#pragma once
// Token usage of one LLM call, as the provider reported it. Pure data.

#include <cstdint>

namespace aiproxy::json {

struct usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  /// The provider's own total when it gives one (it may include reasoning tokens), else the sum.
  std::int64_t total_tokens = 0;
  std::int64_t cached_tokens = 0;     // prompt_tokens_details.cached_tokens
  std::int64_t reasoning_tokens = 0;  // completion_tokens_details.reasoning_tokens
  /// False when the provider reported nothing the gateway could read.
  bool known = false;
};

}  // namespace aiproxy::json
