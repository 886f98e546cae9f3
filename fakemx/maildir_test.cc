#include "fakemx/maildir.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

std::string MakeTempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/maildir_test.XXXXXX";
  char* made = mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr);
  return tmpl;
}

std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Delivery SampleDelivery() {
  Delivery d;
  d.received_at_us = 1795000000123456;
  d.client_address = "127.0.0.1";
  d.client_port = 40000;
  d.server_hostname = "mx.test";
  d.esmtp = true;
  d.helo = "client.test";
  d.reverse_path = "alice@example.org";
  d.mail_params = {{"SIZE", "12"}, {"BODY", "8BITMIME"}};
  d.recipients = {{"bob@example.net", {}}, {"carol@example.net", {{"NOTIFY", "NEVER"}}}};
  d.body = "8BITMIME";
  return d;
}

TEST(Maildir, OpenCreatesTheMaildirSubdirectoriesAndTheEnvelopeDirectory) {
  const std::string root = MakeTempDir() + "/a/b";
  ASSERT_EQ(mkdir((root.substr(0, root.size() - 2)).c_str(), 0700), 0);
  auto maildir = Maildir::Open(root, {.hostname = "h"});
  ASSERT_TRUE(maildir.ok()) << maildir.status();
  for (const char* sub : {"tmp", "new", "cur", "envelopes"}) {
    struct stat st;
    ASSERT_EQ(stat((root + "/" + sub).c_str(), &st), 0) << sub;
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << sub;
  }
}

TEST(Maildir, OpenRejectsARootThatIsAFile) {
  const std::string file = MakeTempDir() + "/file";
  std::ofstream(file) << "x";
  auto maildir = Maildir::Open(file, {.hostname = "h"});
  ASSERT_FALSE(maildir.ok());
  EXPECT_NE(maildir.status().message().find(file), std::string::npos) << maildir.status();
}

TEST(Maildir, DeliverStoresTheExactBytesInNewAndTheEnvelopeBesideIt) {
  const std::string root = MakeTempDir();
  auto maildir = Maildir::Open(root, {.hostname = "mx.test"});
  ASSERT_TRUE(maildir.ok()) << maildir.status();
  // CRLF, a leading dot (already unstuffed), NUL and 8-bit bytes are kept.
  const std::string message("Subject: t\r\n\r\n.leading dot\r\n\0\xff\r\n", 33);
  auto name = (*maildir)->Deliver(SampleDelivery(), message);
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(List(root + "/new"), std::vector<std::string>{*name});
  EXPECT_TRUE(List(root + "/tmp").empty());
  EXPECT_TRUE(List(root + "/cur").empty());
  EXPECT_EQ(ReadFile(root + "/new/" + *name), message);
  EXPECT_EQ(List(root + "/envelopes"), std::vector<std::string>{*name + ".json"});
  EXPECT_EQ(ReadFile(root + "/envelopes/" + *name + ".json"),
            DeliveryToJson(SampleDelivery(), *name, message.size()));
}

TEST(Maildir, NamesFollowTheSpecAndUseTheDeliveryTime) {
  const std::string root = MakeTempDir();
  auto maildir = Maildir::Open(root, {.hostname = "mx/a:b"});
  ASSERT_TRUE(maildir.ok()) << maildir.status();
  auto name = (*maildir)->Deliver(SampleDelivery(), "x\r\n");
  ASSERT_TRUE(name.ok()) << name.status();
  const std::string prefix = "1795000000.M123456P" + std::to_string(getpid()) + "Q0.";
  EXPECT_EQ(*name, prefix + "mx\\057a\\072b");
}

TEST(Maildir, UniqueNameHasTheModernSpecShape) {
  EXPECT_EQ(Maildir::UniqueName(1700000000000007, 42, 3, "host"), "1700000000.M7P42Q3.host");
  EXPECT_EQ(Maildir::SafeHostname("a/b:c"), "a\\057b\\072c");
  EXPECT_EQ(Maildir::SafeHostname("plain.example"), "plain.example");
}

TEST(Maildir, ConcurrentDeliveriesEachLandOnceUnderDistinctNames) {
  const std::string root = MakeTempDir();
  auto maildir = Maildir::Open(root, {.hostname = "h"});
  ASSERT_TRUE(maildir.ok()) << maildir.status();
  constexpr int kThreads = 4, kEach = 50;
  std::vector<std::thread> threads;
  std::vector<std::vector<std::string>> names(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        // Same timestamp everywhere: uniqueness must come from the counter.
        auto name = (*maildir)->Deliver(SampleDelivery(),
                                        "m" + std::to_string(t) + "-" + std::to_string(i));
        if (name.ok()) names[t].push_back(*name);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all, contents;
  for (const auto& v : names) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
  const auto stored = List(root + "/new");
  EXPECT_EQ(std::set<std::string>(stored.begin(), stored.end()), all);
  for (const auto& n : stored) contents.insert(ReadFile(root + "/new/" + n));
  EXPECT_EQ(contents.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(List(root + "/envelopes").size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_TRUE(List(root + "/tmp").empty());
}

TEST(Maildir, DeliverFailsWithoutTouchingNewWhenTmpIsGone) {
  const std::string root = MakeTempDir();
  auto maildir = Maildir::Open(root, {.hostname = "h"});
  ASSERT_TRUE(maildir.ok()) << maildir.status();
  ASSERT_EQ(rmdir((root + "/tmp").c_str()), 0);
  auto name = (*maildir)->Deliver(SampleDelivery(), "x\r\n");
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.status().code(), absl::StatusCode::kUnavailable) << name.status();
  EXPECT_NE(name.status().message().find("tmp/"), std::string::npos) << name.status();
  EXPECT_TRUE(List(root + "/new").empty());
  EXPECT_TRUE(List(root + "/envelopes").empty());
}

TEST(Maildir, DeliverRemovesTheSidecarWhenNewIsGone) {
  const std::string root = MakeTempDir();
  auto maildir = Maildir::Open(root, {.hostname = "h"});
  ASSERT_TRUE(maildir.ok()) << maildir.status();
  ASSERT_EQ(rmdir((root + "/new").c_str()), 0);
  auto name = (*maildir)->Deliver(SampleDelivery(), "x\r\n");
  ASSERT_FALSE(name.ok());
  EXPECT_NE(name.status().message().find("to new/"), std::string::npos) << name.status();
  EXPECT_TRUE(List(root + "/envelopes").empty());
  EXPECT_TRUE(List(root + "/tmp").empty());
}

TEST(Maildir, DeliverBatchStoresEachMessageOnceInOrder) {
  const std::string root = MakeTempDir();
  auto maildir = Maildir::Open(root, {.hostname = "h", .sync_directories = true});
  ASSERT_TRUE(maildir.ok()) << maildir.status();
  std::vector<Delivery> deliveries(5, SampleDelivery());
  std::vector<std::string> messages;
  std::vector<Maildir::DeliveryRequest> requests;
  for (int i = 0; i < 5; ++i) {
    deliveries[i].reverse_path = "sender" + std::to_string(i) + "@example.org";
    messages.push_back("message " + std::to_string(i) + "\r\n");
  }
  for (int i = 0; i < 5; ++i) requests.push_back({&deliveries[i], messages[i]});
  auto results = (*maildir)->DeliverBatch(requests);
  ASSERT_EQ(results.size(), 5u);
  std::set<std::string> names;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status();
    names.insert(*results[i]);
    EXPECT_EQ(ReadFile(root + "/new/" + *results[i]), messages[i]);
    EXPECT_EQ(ReadFile(root + "/envelopes/" + *results[i] + ".json"),
              DeliveryToJson(deliveries[i], *results[i], messages[i].size()));
  }
  EXPECT_EQ(names.size(), 5u);
  EXPECT_EQ(List(root + "/new").size(), 5u);
  EXPECT_TRUE(List(root + "/tmp").empty());
}

TEST(Maildir, DeliverBatchFailsEveryMessageWhenTmpIsGone) {
  const std::string root = MakeTempDir();
  auto maildir = Maildir::Open(root, {.hostname = "h"});
  ASSERT_TRUE(maildir.ok()) << maildir.status();
  ASSERT_EQ(rmdir((root + "/tmp").c_str()), 0);
  const Delivery d = SampleDelivery();
  const std::vector<Maildir::DeliveryRequest> requests = {{&d, "a"}, {&d, "b"}};
  auto results = (*maildir)->DeliverBatch(requests);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[0].ok());
  EXPECT_FALSE(results[1].ok());
  EXPECT_TRUE(List(root + "/new").empty());
  EXPECT_TRUE(List(root + "/envelopes").empty());
}

TEST(Maildir, SyncDirectoriesStillDelivers) {
  const std::string root = MakeTempDir();
  auto maildir = Maildir::Open(root, {.hostname = "h", .sync_directories = true});
  ASSERT_TRUE(maildir.ok()) << maildir.status();
  auto name = (*maildir)->Deliver(SampleDelivery(), "x\r\n");
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(ReadFile(root + "/new/" + *name), "x\r\n");
}

}  // namespace
}  // namespace mxkit::fakemx
