// The packed history of a replay (packed_history.h) against History on a small log: the same
// care events, voids (a void of a void restores its target), and each beneficiary's events
// listed once; and the key index under it.
#include "projections/packed_history.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "ledger/event_log.h"
#include "ledger/testing/temp_dir.h"
#include "projections/history.h"
#include "projections/key_index.h"
#include "schemas/civil_date.h"
#include "schemas/json_codec.h"

namespace ledger {
namespace {

TEST(KeyIndex, DenseIndicesInFirstSeenOrderThroughGrowth) {
  KeyIndex index;
  for (uint64_t k = 0; k < 5000; ++k) EXPECT_EQ(index.Intern(k * 7919), k);
  for (uint64_t k = 0; k < 5000; ++k) EXPECT_EQ(index.Intern(k * 7919), k);
  EXPECT_EQ(index.size(), 5000u);
  EXPECT_EQ(index.key(42), 42u * 7919);
}

std::string Ben(const char* niss) {
  return std::string(R"({"niss":")") + niss + R"(","birth_date":"1990-03-12","bim":false})";
}

std::vector<std::string> Events() {
  const std::string b1 = Ben("90031200195"), b2 = Ben("90031200294");
  auto session = [](const char* id, const std::string& ben) {
    return std::string(R"({"id":")") + id +
           R"(","type":"session.individual","occurred_on":"2025-01-06","provider_id":"P1",)"
           R"("network_id":"N-A","beneficiary":)" +
           ben + R"(,"function":"support","minutes":60,"location":"practice"})";
  };
  auto void_of = [](const char* id, const char* target) {
    return std::string(R"({"id":")") + id +
           R"(","type":"event.voided","occurred_on":"2025-02-01","target":")" + target +
           R"(","reason":"recorded by mistake"})";
  };
  return {
      R"({"id":"net","type":"network.registered","occurred_on":"2021-01-01","network_id":"N-A",)"
      R"("name":"network A","population":"adults"})",
      R"({"id":"enr","type":"provider.enrolled","occurred_on":"2021-01-01","provider_id":"P1",)"
      R"("network_id":"N-A","profession":"psychologist"})",
      session("s1", b1),
      session("s2", b2),
      R"({"id":"g1","type":"session.group","occurred_on":"2025-01-08","facilitators":[)"
      R"({"provider_id":"P1","role":"psychologist"}],"network_id":"N-A","function":"support",)"
      R"("minutes":120,"location":"outreach","participants":[)" +
          b1 + "," + b2 + "]}",
      void_of("v1", "s1"),
      void_of("v2", "v1"),  // s1 stands again
      void_of("v3", "s2"),
  };
}

TEST(PackedHistory, TheCareEventsAndVoidsOfAHistory) {
  TempDir dir("packed_history_test");
  auto log = EventLog::Open(dir.path());
  ASSERT_TRUE(log) << log.error().ToString();
  std::vector<DecodedEvent> batch;
  const std::vector<std::string> events = Events();
  for (size_t i = 0; i < events.size(); ++i) {
    auto d = DecodeEventJson(events[i], static_cast<int64_t>(i), ToDay({2026, 1, 1}));
    ASSERT_TRUE(d) << d.error().ToString() << "\n  " << events[i];
    batch.push_back(std::move(d).value());
  }
  ASSERT_TRUE((*log)->AppendAll(batch));
  // A batch of its own: with facts written per batch, a second reader's share holds this
  // mission alone, and no beneficiary.
  auto mission = DecodeEventJson(
      R"({"id":"m1","type":"support.mission","occurred_on":"2025-01-09","provider_id":"P1",)"
      R"("network_id":"N-A","minutes":90,"kind":"co_consultation"})",
      0, ToDay({2026, 1, 1}));
  ASSERT_TRUE(mission) << mission.error().ToString();
  std::vector<DecodedEvent> second;
  second.push_back(std::move(mission).value());
  ASSERT_TRUE((*log)->AppendAll(second));
  auto h = History::Load(**log);
  ASSERT_TRUE(h);
  for (int threads = 1; threads <= 4; ++threads) {
    auto p = PackedHistory::Load(**log, threads);
    ASSERT_TRUE(p) << p.error().ToString();
    EXPECT_EQ(p->last_seq(), h->last_seq());
    ASSERT_EQ(p->care_events(), h->care.size());
    for (size_t i = 0; i < h->care.size(); ++i) {
      EXPECT_EQ(p->care()[i].seq, h->care[i].seq);
      EXPECT_EQ(p->care()[i].voided(), h->Voided(h->care[i].seq)) << "seq " << h->care[i].seq;
    }
    EXPECT_FALSE(p->care()[0].voided());  // s1: its void was voided
    EXPECT_TRUE(p->care()[1].voided());   // s2
    ASSERT_EQ(p->beneficiaries(), 2u);
    std::set<Seq> all;
    for (BeneficiaryIdx b = 0; b < 2; ++b) {
      for (uint32_t i : p->EventsOf(b)) all.insert(p->care()[i].seq);
    }
    EXPECT_EQ(all, (std::set<Seq>{3, 5}));                         // s1 and g1, not the voided s2
    EXPECT_EQ(p->EventsOf(0).size() + p->EventsOf(1).size(), 3u);  // g1 once for each
    ASSERT_EQ(p->details().size(), 2u);
    EXPECT_EQ(p->providers().Name(p->details()[0].facilitators[0].provider), "P1");
    EXPECT_EQ(p->details()[1].kind, CareKind::kMission);
    EXPECT_EQ(p->providers().Name(p->details()[1].provider), "P1");
    EXPECT_EQ(p->details()[1].minutes, 90);
  }
}

}  // namespace
}  // namespace ledger
