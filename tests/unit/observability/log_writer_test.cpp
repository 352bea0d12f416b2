#include "aiproxy/observability/log_writer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace aiproxy::observability {
namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(log_writer, lines_from_many_threads_all_arrive_whole) {
  auto dir =
      std::filesystem::temp_directory_path() / ("aiproxy-logw-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "out.log").string();
  {
    log_writer w(4);
    std::vector<std::thread> producers;
    for (int t = 0; t < 4; ++t) {
      producers.emplace_back([&, t] {
        for (int i = 0; i < 500; ++i) {
          w.push(t, path, "line " + std::to_string(t) + "-" + std::to_string(i));
        }
      });
    }
    for (auto& p : producers) {
      p.join();
    }
    w.flush();
    std::string text = read_file(path);
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2000);
    EXPECT_NE(text.find("line 3-499\n"), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST(log_writer, reopen_follows_a_rotated_file) {
  auto dir =
      std::filesystem::temp_directory_path() / ("aiproxy-logr-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "out.log").string();
  log_writer w(1);
  w.push(0, path, "before");
  w.flush();
  std::filesystem::rename(path, path + ".1");
  w.reopen_all();
  w.push(0, path, "after");
  w.flush();
  EXPECT_EQ(read_file(path), "after\n");
  EXPECT_EQ(read_file(path + ".1"), "before\n");
  std::filesystem::remove_all(dir);
}

TEST(log_writer, full_queue_drops_and_counts_instead_of_blocking) {
  log_writer w(1, 0);  // a queue that holds nothing
  w.push(0, "-", "never written");
  EXPECT_EQ(w.dropped(), 1u);
}

TEST(log_writer, unwritable_destination_is_counted) {
  log_writer w(1);
  w.push(0, "/nonexistent-dir/x/y.log", "x");
  w.flush();
  EXPECT_EQ(w.write_errors(), 1u);
}

}  // namespace
}  // namespace aiproxy::observability
