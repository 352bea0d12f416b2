// redis_vector_cache: embeddings put on one instance reach another through a real redis-server;
// the float encoding round-trips; callers read a local mirror that survives a Redis outage.

#include "aiproxy/balancer/redis_vector_cache.hpp"

#include "aiproxy/balancer/redis_connection.hpp"
#include "testlib/redis_server.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace aiproxy::balancer {
namespace {

config::redis_config config_for(const testlib::redis_server& server) {
  config::redis_config conf;
  conf.host = server.host();
  conf.port = server.port();
  conf.sync_interval_ms = 600000;  // the tests flush
  return conf;
}

std::string test_prefix() {
  return std::string("aiproxy-test:") +
         testing::UnitTest::GetInstance()->current_test_info()->name();
}

void flush(redis_vector_cache& c) {
  auto r = c.flush_now();
  ASSERT_TRUE(r) << r.error().message;
}

TEST(RedisVectorCache, EncodingRoundTripsExactly) {
  std::vector<float> v{0.0f,
                       -0.0f,
                       1.5f,
                       -3.25e-7f,
                       std::numeric_limits<float>::max(),
                       std::numeric_limits<float>::denorm_min()};
  auto bytes = redis_vector_cache::encode(v);
  ASSERT_EQ(bytes.size(), v.size() * 4);
  EXPECT_EQ(bytes.substr(8, 4), std::string("\x00\x00\xc0\x3f", 4));  // 1.5f, little-endian
  auto back = redis_vector_cache::decode(bytes);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(std::signbit((*back)[i]), std::signbit(v[i]));
    EXPECT_EQ((*back)[i], v[i]);
  }
  EXPECT_FALSE(redis_vector_cache::decode("abcde"));
  auto empty = redis_vector_cache::decode("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(RedisVectorCache, RoundTripAcrossTwoInstances) {
  testlib::redis_server server;
  auto conf = config_for(server);
  auto a = make_redis_vector_cache(conf, test_prefix());
  auto b = make_redis_vector_cache(conf, test_prefix());
  const std::vector<float> code{0.25f, -1.0f, 3.5f};
  const std::vector<float> math{9.0f, 8.0f};
  a->put("emb-model|code questions", code);
  EXPECT_EQ(a->get("emb-model|code questions"), code);  // the writer sees its put at once
  EXPECT_FALSE(b->get("emb-model|code questions"));
  flush(*a);
  flush(*b);
  EXPECT_EQ(b->get("emb-model|code questions"), code);
  EXPECT_FALSE(b->get("emb-model|math questions"));

  b->put("emb-model|math questions", math);
  flush(*b);
  flush(*a);  // a has loaded once already: it fetches only the new entry
  EXPECT_EQ(a->get("emb-model|math questions"), math);
  EXPECT_EQ(a->size(), 2u);

  // A third instance started later loads everything on its first sync.
  auto c = make_redis_vector_cache(conf, test_prefix());
  flush(*c);
  EXPECT_EQ(c->get("emb-model|code questions"), code);
  EXPECT_EQ(c->get("emb-model|math questions"), math);

  // What is stored is the documented binary form.
  redis_connection raw(conf);
  auto stored = raw.command({"HGET", test_prefix() + ":vec", "emb-model|math questions"});
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->str, redis_vector_cache::encode(math));
}

TEST(RedisVectorCache, MalformedEntriesAreIgnored) {
  testlib::redis_server server;
  auto conf = config_for(server);
  redis_connection raw(conf);
  ASSERT_TRUE(raw.command(
      {"HSET", test_prefix() + ":vec", "bad", "xyz", "good", redis_vector_cache::encode({2.0f})}));
  auto a = make_redis_vector_cache(conf, test_prefix());
  flush(*a);
  EXPECT_FALSE(a->get("bad"));
  EXPECT_EQ(a->get("good"), std::vector<float>{2.0f});
}

TEST(RedisVectorCache, PutsDuringAnOutageAreWrittenWhenRedisIsBack) {
  testlib::redis_server server;
  auto conf = config_for(server);
  auto a = make_redis_vector_cache(conf, test_prefix());
  flush(*a);
  server.stop();
  a->put("k", {1.0f, 2.0f});
  EXPECT_FALSE(a->flush_now());
  EXPECT_EQ(a->get("k"), (std::vector<float>{1.0f, 2.0f}));  // callers are served locally
  server.start();
  flush(*a);
  auto b = make_redis_vector_cache(conf, test_prefix());
  flush(*b);
  EXPECT_EQ(b->get("k"), (std::vector<float>{1.0f, 2.0f}));
}

}  // namespace
}  // namespace aiproxy::balancer
