// redis_connection against a real redis-server (testlib::redis_server): commands, pipelines,
// AUTH (and that a refused password never shows in the error), SELECT, reconnect after an outage.

#include "aiproxy/balancer/redis_connection.hpp"

#include "testlib/redis_server.hpp"

#include <gtest/gtest.h>

namespace aiproxy::balancer {
namespace {

config::redis_config config_for(const testlib::redis_server& server) {
  config::redis_config conf;
  conf.host = server.host();
  conf.port = server.port();
  conf.timeout_ms = 2000;
  return conf;
}

TEST(RedisConnection, CommandsArePassedBinarySafe) {
  testlib::redis_server server;
  redis_connection conn(config_for(server));
  std::string value("a\0b\r\nc", 6);
  auto set = conn.command({"SET", "bin", value});
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->type, redis_reply::kind::status);
  EXPECT_EQ(set->str, "OK");
  auto get = conn.command({"GET", "bin"});
  ASSERT_TRUE(get) << get.error().message;
  EXPECT_EQ(get->type, redis_reply::kind::string);
  EXPECT_EQ(get->str, value);
  auto missing = conn.command({"GET", "nothing-here"});
  ASSERT_TRUE(missing);
  EXPECT_TRUE(missing->is_nil());
}

TEST(RedisConnection, PipelineKeepsErrorRepliesInPlace) {
  testlib::redis_server server;
  redis_connection conn(config_for(server));
  auto replies = conn.pipeline(
      {{"SET", "k", "v"}, {"INCR", "k"}, {"RPUSH", "l", "x", "y"}, {"LRANGE", "l", "0", "-1"}});
  ASSERT_TRUE(replies) << replies.error().message;
  ASSERT_EQ(replies->size(), 4u);
  EXPECT_EQ((*replies)[0].str, "OK");
  EXPECT_TRUE((*replies)[1].is_error());
  EXPECT_EQ((*replies)[2].type, redis_reply::kind::integer);
  EXPECT_EQ((*replies)[2].integer, 2);
  ASSERT_EQ((*replies)[3].elements.size(), 2u);
  EXPECT_EQ((*replies)[3].elements[1].str, "y");
  // A single command's error reply is an error, and the connection stays usable.
  auto bad = conn.command({"INCR", "k"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("not an integer"), std::string::npos) << bad.error().message;
  EXPECT_TRUE(conn.command({"PING"}));
}

TEST(RedisConnection, AuthWithPasswordAndWithUserName) {
  const std::string password = "s3cret-Pa55-word";
  testlib::redis_server server({.requirepass = password});
  auto conf = config_for(server);

  redis_connection anonymous(conf);
  auto refused = anonymous.command({"PING"});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("NOAUTH"), std::string::npos) << refused.error().message;

  conf.password = password;
  redis_connection with_password(conf);
  auto pong = with_password.command({"PING"});
  ASSERT_TRUE(pong) << pong.error().message;
  EXPECT_EQ(pong->str, "PONG");

  conf.username = "default";
  redis_connection with_user(conf);
  auto who = with_user.command({"ACL", "WHOAMI"});
  ASSERT_TRUE(who) << who.error().message;
  EXPECT_EQ(who->str, "default");
}

TEST(RedisConnection, WrongPasswordIsAnErrorThatDoesNotHoldIt) {
  testlib::redis_server server({.requirepass = "the-right-one"});
  auto conf = config_for(server);
  conf.password = "wrong-Secret-4711";
  redis_connection conn(conf);
  auto r = conn.connect();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("AUTH"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("wrong-Secret-4711"), std::string::npos) << r.error().message;
  EXPECT_FALSE(conn.connected());

  conf.username = "nobody";
  redis_connection as_user(conf);
  auto u = as_user.command({"PING"});
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().message.find("nobody"), std::string::npos) << u.error().message;
  EXPECT_EQ(u.error().message.find("wrong-Secret-4711"), std::string::npos) << u.error().message;
}

TEST(RedisConnection, SelectsTheConfiguredDatabase) {
  testlib::redis_server server;
  auto conf = config_for(server);
  conf.database = 3;
  redis_connection db3(conf);
  ASSERT_TRUE(db3.command({"SET", "where", "three"}));
  conf.database = 0;
  redis_connection db0(conf);
  auto in0 = db0.command({"GET", "where"});
  ASSERT_TRUE(in0);
  EXPECT_TRUE(in0->is_nil());
  auto select = db0.command({"SELECT", "3"});
  ASSERT_TRUE(select);
  auto in3 = db0.command({"GET", "where"});
  ASSERT_TRUE(in3);
  EXPECT_EQ(in3->str, "three");
}

TEST(RedisConnection, FailsWhileRedisIsDownAndReconnectsAfter) {
  testlib::redis_server server;
  redis_connection conn(config_for(server));
  ASSERT_TRUE(conn.command({"PING"}));
  server.stop();
  auto down = conn.command({"PING"});
  ASSERT_FALSE(down);
  EXPECT_NE(down.error().message.find(conn.endpoint()), std::string::npos) << down.error().message;
  EXPECT_FALSE(conn.connected());
  auto still_down = conn.command({"PING"});
  EXPECT_FALSE(still_down);
  server.start();
  auto back = conn.command({"PING"});
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->str, "PONG");
}

}  // namespace
}  // namespace aiproxy::balancer
