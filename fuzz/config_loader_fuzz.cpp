// Fuzz target for config/loader: load_config_string on arbitrary bytes may only ever return a
// config or throw aiproxy::config_error; any other exception (or a crash) aborts. When a config
// loads, the router built from it must also answer a few requests without throwing.
// Touches nothing but the loader and router (no files, no network).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "aiproxy/config/loader.hpp"
#include "aiproxy/config/router.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    aiproxy::config::gateway_config c = aiproxy::config::load_config_string(text, "fuzz");
    aiproxy::config::router r(c);
    aiproxy::header_list h;
    h.add("x-team", "red");
    (void)r.match("POST", "example.com", "/v1/chat/completions", h);
    (void)r.match("GET", "a.example.com:8000", "/models/x/../%61/v1?q", h);
  } catch (const aiproxy::config_error&) {
    // expected for invalid input
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "unexpected non-standard exception\n");
    std::abort();
  }
  return 0;
}
