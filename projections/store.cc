#include "projections/store.h"

#include <rocksdb/write_batch.h>

#include <cassert>
#include <set>

#include "ledger/bytes.h"
#include "projections/projector.h"
#include "projections/store_keys.h"

namespace ledger {
using namespace store_keys;  // NOLINT: this file writes the keys
namespace {

constexpr size_t kRebuildBatchOps = 50000;
constexpr size_t kNamesCachedMax = 2000000;  // names interned by catch-ups before a reload

std::string ShareValue(const GroupShare& s) {
  std::string v(1, s.counted ? '\1' : '\0');
  PutBE64(&v, static_cast<uint64_t>(s.copay.value));
  return v;
}
std::string DailyValue(int64_t count, int64_t sum) {
  std::string v;
  PutBE64(&v, static_cast<uint64_t>(count));
  PutBE64(&v, static_cast<uint64_t>(sum));
  return v;
}

constexpr char kAssessment = 'a', kCare = 'c';

Error Corrupt(const std::string& what) {
  return Error{ErrorCode::kCorruption, "projection store: " + what};
}

// Iterates keys with a prefix; fn(key, value) returns false to stop.
Status ScanPrefix(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, const std::string& prefix,
                  const std::function<bool(std::string_view, std::string_view)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (!fn(it->key().ToStringView(), it->value().ToStringView())) break;
  }
  if (!it->status().ok()) return Error{ErrorCode::kStorage, it->status().ToString()};
  return Ok();
}

// The lines an event produced (provider and key), derived from its content (immutable), for
// deletion on void.
struct LineAt {
  std::string provider;
  std::string key;
};
std::vector<LineAt> LineKeysOf(schema::Event::Reader ev, Seq seq) {
  using B = schema::Event::Body;
  std::vector<LineAt> keys;
  const CivilDay day = ev.getOccurredOn();
  const auto body = ev.getBody();
  auto add = [&](std::string provider, uint32_t part) {
    std::string key = LineKey(provider, day, seq, part);
    keys.push_back({std::move(provider), std::move(key)});
  };
  auto facilitators = [&](capnp::List<schema::Facilitator>::Reader list) {
    for (uint32_t i = 0; i < list.size(); ++i) add(list[i].getProviderId().cStr(), i);
  };
  switch (body.which()) {
    case B::SESSION_INDIVIDUAL:
      add(body.getSessionIndividual().getProviderId().cStr(), 0);
      break;
    case B::SUPPORT_MISSION:
      add(body.getSupportMission().getProviderId().cStr(), 0);
      break;
    case B::SESSION_GROUP:
      facilitators(body.getSessionGroup().getFacilitators());
      break;
    case B::COMMUNITY_INTERVENTION:
      facilitators(body.getCommunityIntervention().getFacilitators());
      break;
    case B::CONCERTATION_HELD: {
      auto ps = body.getConcertationHeld().getParticipants();
      for (uint32_t i = 0; i < ps.size(); ++i) {
        if (ps[i].getProviderId().size() > 0) add(ps[i].getProviderId().cStr(), i);
      }
      break;
    }
    case B::NETWORK_REGISTERED:
    case B::PROVIDER_ENROLLED:
    case B::PROVIDER_LEFT:
    case B::BUDGET_ALLOCATED:
    case B::RULESET_PUBLISHED:
    case B::ASSESSMENT_RECORDED:
    case B::EXCEPTION_GRANTED:
    case B::EVENT_VOIDED:
    case B::INVOICE_ISSUED:
      break;
  }
  return keys;
}

// The beneficiaries an event is about (NISS), for the index and for refolds.
std::vector<std::string> BeneficiariesOf(schema::Event::Reader ev) {
  using B = schema::Event::Body;
  const auto body = ev.getBody();
  switch (body.which()) {
    case B::ASSESSMENT_RECORDED:
      return {body.getAssessmentRecorded().getBeneficiary().getNiss().cStr()};
    case B::EXCEPTION_GRANTED:
      return {body.getExceptionGranted().getBeneficiary().getNiss().cStr()};
    case B::SESSION_INDIVIDUAL:
      return {body.getSessionIndividual().getBeneficiary().getNiss().cStr()};
    case B::CONCERTATION_HELD:
      return {body.getConcertationHeld().getBeneficiary().getNiss().cStr()};
    case B::SESSION_GROUP: {
      std::vector<std::string> out;
      for (auto p : body.getSessionGroup().getParticipants()) {
        std::string niss = p.getNiss().cStr();
        if (std::find(out.begin(), out.end(), niss) == out.end()) out.push_back(std::move(niss));
      }
      return out;
    }
    default:
      return {};
  }
}

// The directory's enrolment periods, both ways (E and e keys).
void WriteEnrolments(const History& h, rocksdb::ColumnFamilyHandle* cf, rocksdb::WriteBatch* b) {
  const std::vector<EnrolmentRecord> all = EnrolmentDirectory(h);
  for (size_t i = 0; i < all.size();) {
    const EnrolmentRecord& first = all[i];
    std::vector<EnrolmentPeriod> periods;
    for (; i < all.size() && all[i].network_id == first.network_id &&
           all[i].provider_id == first.provider_id;
         ++i) {
      periods.push_back({all[i].enrolled_on, all[i].left_on, all[i].profession});
    }
    b->Put(cf, EnrolKey(first.network_id, first.provider_id), EncodePeriods(periods));
    b->Put(cf, ProviderNetworkKey(first.provider_id, first.network_id), "");
  }
}

}  // namespace

// One catch-up's writes: a batch, plus the deltas of the daily consumption and of the tallies
// (tally.h) that the lines it changes make.
struct ProjectionStore::Pending {
  rocksdb::DB* db = nullptr;
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  rocksdb::WriteBatch batch;
  std::map<std::pair<std::string, CivilDay>, std::pair<int64_t, int64_t>> daily;
  std::map<std::string, LineTally> tallies;  // by TallyKey

  void Count(std::string_view provider, const LineRecord& l, int64_t sign) {
    tallies[TallyKey(MonthOf(l.day), l.network_id, provider)].Add(l, sign);
    if (!l.billable()) return;
    auto& d = daily[{l.network_id, l.day}];
    d.first += sign;
    d.second += sign * l.insurer.value;
  }
  // Replaces (or deletes, when `line` is null) the provider's line at `key`, tracking
  // consumption and tallies.
  Status SetLine(std::string_view provider, const std::string& key, const LineRecord* line) {
    std::string old;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf, key, &old);
    if (s.ok()) {
      LineRecord prev;
      if (!DecodeLine(old, &prev)) return Corrupt("bad line record");
      Count(provider, prev, -1);
    } else if (!s.IsNotFound()) {
      return Error{ErrorCode::kStorage, s.ToString()};
    }
    if (line) {
      Count(provider, *line, +1);
      batch.Put(cf, key, EncodeLine(*line));
    } else if (s.ok()) {
      batch.Delete(cf, key);
    }
    return Ok();
  }
  Status FlushDaily() {
    for (const auto& [key, delta] : daily) {
      if (delta.first == 0 && delta.second == 0) continue;
      const std::string k = DailyKey(key.first, key.second);
      std::string v;
      int64_t count = 0, sum = 0;
      rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf, k, &v);
      if (s.ok() && v.size() == 16) {
        count = static_cast<int64_t>(GetBE64(v.data()));
        sum = static_cast<int64_t>(GetBE64(v.data() + 8));
      } else if (!s.IsNotFound()) {
        return Error{ErrorCode::kStorage, s.ToString()};
      }
      count += delta.first;
      sum += delta.second;
      if (count < 0) return Corrupt("negative line count for a day");
      if (count == 0) {
        batch.Delete(cf, k);
      } else {
        batch.Put(cf, k, DailyValue(count, sum));
      }
    }
    return Ok();
  }
  Status FlushTallies() {
    for (const auto& [key, delta] : tallies) {
      if (delta == LineTally{}) continue;
      std::string v;
      LineTally t;
      rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf, key, &v);
      if (s.ok()) {
        if (!DecodeTally(v, &t)) return Corrupt("bad tally record");
      } else if (!s.IsNotFound()) {
        return Error{ErrorCode::kStorage, s.ToString()};
      }
      t += delta;
      if (!t.consistent()) return Corrupt("a tally that does not add up");
      if (t.empty()) {
        batch.Delete(cf, key);
      } else {
        batch.Put(cf, key, EncodeTally(t));
      }
    }
    return Ok();
  }
};

ProjectionStore::ProjectionStore(const EventLog& log)
    : log_(log), db_(log.derived_db()), cf_(log.derived_cf()) {}

ProjectionStore::~ProjectionStore() = default;

Result<Seq> ProjectionStore::seq() const { return ProjectionView(*this, false).seq(); }

ProjectionView ProjectionStore::View() const {
  // A secondary instance (read_only) reads the log as it was when opened: a snapshot already,
  // and RocksDB has no snapshots there.
  return ProjectionView(*this, !log_.read_only());
}

Status ProjectionStore::CatchUp(const std::function<void(Seq, Seq)>& progress) {
  auto at = seq();
  if (!at) return at.error();
  const Seq head = log_.head().seq;
  if (*at > head) return Corrupt("ahead of the log");
  if (*at == head) return Ok();
  if (*at == 0 || head - *at > rebuild_threshold_) return Rebuild(progress);
  ++stats_.catch_ups;
  return Apply(*at + 1, head);
}

Status ProjectionStore::LoadStatic() {
  std::vector<Seq> seqs;
  Status s = ScanPrefix(db_, cf_, "x", [&](std::string_view k, std::string_view) {
    seqs.push_back(GetBE64(k.data() + 1));
    return true;
  });
  if (!s) return s;
  auto h = std::make_unique<History>();
  s = log_.ReadSeqs(seqs, [&](const StoredEventView& v) { h->Add(v); });
  if (!s) return s;
  // Voids are few: all of them are kept in memory between catch-ups.
  voided_.clear();
  s = ScanPrefix(db_, cf_, "v", [&](std::string_view k, std::string_view) {
    voided_.insert(GetBE64(k.data() + 1));
    return true;
  });
  if (!s) return s;
  for (Seq seq : seqs) {
    if (voided_.count(seq)) h->MarkVoided(seq);
  }
  h->Seal();
  static_ = std::move(h);
  rules_ = RulesetsOf(*static_, RulesetCatalog());
  ctx_ = std::make_unique<FoldContext>(ContextOf(*static_, rules_.get()));
  return Ok();
}

Status ProjectionStore::Apply(Seq from, Seq to) {
  using B = schema::Event::Body;
  Pending w;
  w.db = db_;
  w.cf = cf_;
  std::map<std::string, std::map<Seq, char>> new_ben;  // this batch's index entries
  std::set<Seq> new_voids, void_targets;
  std::set<std::string> dirty, assess_changed;
  std::vector<Seq> priced;  // community interventions and support missions
  bool rebuild = false;
  Status failure = Ok();
  Status s = log_.ReadRange(from, to, [&](const StoredEventView& v) {
    const auto ev = v.event();
    const auto body = ev.getBody();
    switch (body.which()) {
      case B::NETWORK_REGISTERED:
      case B::PROVIDER_ENROLLED:
      case B::PROVIDER_LEFT:
      case B::RULESET_PUBLISHED:
        rebuild = true;
        return false;
      case B::BUDGET_ALLOCATED: {
        auto b = body.getBudgetAllocated();
        w.batch.Put(cf_, BudgetKey(b.getNetworkId().cStr(), b.getYear()),
                    BE64(static_cast<uint64_t>(b.getCareBudgetCents())));
        return true;
      }
      case B::EVENT_VOIDED: {
        auto target = log_.FindId(body.getEventVoided().getTarget().cStr());
        if (!target || !target->has_value()) {
          failure = target ? Status(Corrupt("void target not found")) : Status(target.error());
          return false;
        }
        void_targets.insert(**target);
        return true;
      }
      case B::INVOICE_ISSUED:
        w.batch.Put(cf_, SeqKey('I', v.seq()), "");
        return true;
      case B::COMMUNITY_INTERVENTION:
      case B::SUPPORT_MISSION:
        priced.push_back(v.seq());
        return true;
      case B::ASSESSMENT_RECORDED:
      case B::EXCEPTION_GRANTED:
      case B::SESSION_INDIVIDUAL:
      case B::SESSION_GROUP:
      case B::CONCERTATION_HELD: {
        const char kind = body.isAssessmentRecorded() ? kAssessment : kCare;
        for (const std::string& niss : BeneficiariesOf(ev)) {
          new_ben[niss][v.seq()] = kind;
          w.batch.Put(cf_, BenKey(niss, v.seq()), std::string(1, kind));
          dirty.insert(niss);
          if (kind == kAssessment) assess_changed.insert(niss);
        }
        return true;
      }
    }
    return true;
  });
  if (!s) return s;
  if (!failure) return failure;
  if (rebuild) return Rebuild({});

  // Voids: a voided care event loses its lines and its beneficiaries are refolded; a void of
  // anything else changes the context of every fold: rebuild.
  s = log_.ReadSeqs({void_targets.begin(), void_targets.end()}, [&](const StoredEventView& v) {
    const auto ev = v.event();
    const auto body = ev.getBody();
    if (body.isNetworkRegistered() || body.isProviderEnrolled() || body.isProviderLeft() ||
        body.isRulesetPublished() || body.isBudgetAllocated() || body.isEventVoided()) {
      rebuild = true;
      return;
    }
    new_voids.insert(v.seq());
    w.batch.Put(cf_, SeqKey('v', v.seq()), "");
    for (const LineAt& line : LineKeysOf(ev, v.seq())) {
      if (Status d = w.SetLine(line.provider, line.key, nullptr); !d) failure = d;
    }
    for (const std::string& niss : BeneficiariesOf(ev)) {
      dirty.insert(niss);
      if (body.isAssessmentRecorded()) assess_changed.insert(niss);
    }
    if (body.isSessionGroup()) {
      std::string prefix(1, 'g');
      PutBE64(&prefix, v.seq());
      Status del = ScanPrefix(db_, cf_, prefix, [&](std::string_view k, std::string_view) {
        w.batch.Delete(cf_, k);
        return true;
      });
      if (!del) failure = del;
    }
  });
  if (!s) return s;
  if (!failure) return failure;
  if (rebuild) return Rebuild({});

  if (!static_ || static_->beneficiaries.size() > kNamesCachedMax) {
    if (Status l = LoadStatic(); !l) return l;
  }
  // Names are interned in the cached static history; the events loaded for this catch-up are
  // kept apart and dropped at the end.
  History& h = *static_;
  std::map<Seq, CareEvent> care;
  std::map<Seq, std::string> ids;
  std::vector<std::tuple<BeneficiaryIdx, NetworkIdx, CivilDay, Seq>> assessments;
  auto entries = [&](const std::string& niss, std::map<Seq, char>* out) {
    Status st =
        ScanPrefix(db_, cf_, Prefixed('b', niss), [&](std::string_view k, std::string_view val) {
          (*out)[GetBE64(k.data() + k.size() - 8)] = val.empty() ? kCare : val[0];
          return true;
        });
    if (auto it = new_ben.find(niss); it != new_ben.end()) {
      out->insert(it->second.begin(), it->second.end());
    }
    return st;
  };
  auto load = [&](std::vector<Seq> seqs, std::vector<std::vector<std::string>>* groups) {
    std::sort(seqs.begin(), seqs.end());
    seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
    std::erase_if(seqs, [&](Seq q) { return ids.count(q) > 0; });
    return log_.ReadSeqs(seqs, [&](const StoredEventView& v) {
      ids[v.seq()] = v.event().getId().cStr();
      if (auto a = h.ToAssessment(v)) {
        assessments.emplace_back(std::get<0>(*a), std::get<1>(*a), std::get<2>(*a), v.seq());
      } else if (CareEvent c; h.ToCare(v, &c)) {
        care.emplace(v.seq(), std::move(c));
      }
      if (groups && v.event().getBody().isSessionGroup()) {
        groups->push_back(BeneficiariesOf(v.event()));
      }
    });
  };

  // Load every dirty beneficiary's events. A change in someone's assessments can change the
  // billability of their group sessions, hence every participant's fold: they become dirty too.
  std::set<std::string> folded, participants;
  while (true) {
    std::vector<Seq> seqs;
    std::vector<std::string> fresh;
    for (const std::string& niss : dirty) {
      if (folded.insert(niss).second) fresh.push_back(niss);
    }
    if (fresh.empty()) break;
    for (const std::string& niss : fresh) {
      std::map<Seq, char> e;
      if (Status st = entries(niss, &e); !st) return st;
      for (const auto& [seq, kind] : e) seqs.push_back(seq);
    }
    std::vector<std::vector<std::string>> groups;
    if (Status st = load(std::move(seqs), &groups); !st) return st;
    for (const auto& members : groups) {
      const bool cascade = std::any_of(members.begin(), members.end(), [&](const std::string& n) {
        return assess_changed.count(n) > 0;
      });
      for (const std::string& n : members) {
        participants.insert(n);
        if (cascade) dirty.insert(n);
      }
    }
  }
  // Group billability needs the assessments of every participant.
  std::vector<Seq> extra(priced.begin(), priced.end());
  for (const std::string& niss : participants) {
    if (folded.count(niss)) continue;
    std::map<Seq, char> e;
    if (Status st = entries(niss, &e); !st) return st;
    for (const auto& [seq, kind] : e) {
      if (kind == kAssessment) extra.push_back(seq);
    }
  }
  if (Status st = load(std::move(extra), nullptr); !st) return st;
  std::set<Seq> voided;
  for (const auto& [seq, id] : ids) {
    if (new_voids.count(seq) || voided_.count(seq)) {
      voided.insert(seq);
    }
  }
  if (!failure) return failure;

  FoldContext& ctx = *ctx_;
  ctx.ClearAllAssessments();
  for (const auto& [who, network, day, seq] : assessments) {
    if (!voided.count(seq)) ctx.AddAssessment(who, network, day);
  }
  std::map<BeneficiaryIdx, std::vector<const CareEvent*>> by;
  std::set<BeneficiaryIdx> wanted;
  for (const std::string& niss : folded) wanted.insert(h.beneficiaries.Intern(niss));
  for (const auto& [seq, c] : care) {
    if (voided.count(seq)) continue;
    if (c.kind == CareKind::kGroup) {
      std::set<BeneficiaryIdx> seen;
      for (const Person& p : c.participants) {
        if (wanted.count(p.who) && seen.insert(p.who).second) by[p.who].push_back(&c);
      }
    } else if (c.kind != CareKind::kCommunity && c.kind != CareKind::kMission &&
               wanted.count(c.beneficiary.who)) {
      by[c.beneficiary.who].push_back(&c);
    }
  }
  auto put_line = [&](const Line& l) {
    const LineRecord r = ToRecord(h, l, ids[l.seq]);
    const std::string& provider = h.providers.Name(l.provider);
    return w.SetLine(provider, LineKey(provider, l.day, l.seq, l.part), &r);
  };

  std::map<Seq, std::map<uint32_t, GroupShare>> overlay;
  for (const std::string& niss : folded) {
    // Point deletes, not DeleteRange: range tombstones slow every later read of the memtable.
    Status del =
        ScanPrefix(db_, cf_, Prefixed('T', niss), [&](std::string_view k, std::string_view) {
          w.batch.Delete(cf_, k);
          return true;
        });
    if (!del) return del;
    const BeneficiaryIdx idx = h.beneficiaries.Intern(niss);
    BeneficiaryFold fold = FoldBeneficiary(ctx, idx, by[idx]);
    ++stats_.beneficiaries_refolded;
    for (const Trajectory& t : fold.trajectories) {
      const TrajectoryRecord r = ToRecord(h, t);
      w.batch.Put(cf_, TrajKey(niss, r), EncodeTrajectory(r));
    }
    for (const Line& l : fold.lines) {
      if (Status st = put_line(l); !st) return st;
    }
    for (const GroupShare& sh : fold.shares) {
      w.batch.Put(cf_, ShareKey(sh.seq, sh.participant), ShareValue(sh));
      overlay[sh.seq][sh.participant] = sh;
    }
  }
  // Reprice the group sessions whose shares were recomputed.
  for (const auto& entry : overlay) {
    const Seq gseq = entry.first;  // a plain variable: lambdas may not capture a binding
    const auto& mine = entry.second;
    auto g = care.find(gseq);
    if (g == care.end() || voided.count(gseq)) continue;
    std::map<uint32_t, GroupShare> all;
    std::string prefix(1, 'g');
    PutBE64(&prefix, gseq);
    Status st = ScanPrefix(db_, cf_, prefix, [&](std::string_view k, std::string_view val) {
      if (val.size() == 9) {
        const uint32_t part = GetBE32(k.data() + 9);
        all[part] = GroupShare{gseq, static_cast<uint16_t>(part), val[0] != 0,
                               Cents{static_cast<int64_t>(GetBE64(val.data() + 1))}};
      }
      return true;
    });
    if (!st) return st;
    for (const auto& [part, sh] : mine) all[part] = sh;
    std::vector<GroupShare> shares;
    for (const auto& [part, sh] : all) shares.push_back(sh);
    for (const Line& l : GroupLines(ctx, g->second, shares)) {
      if (Status e = put_line(l); !e) return e;
    }
  }
  for (Seq seq : priced) {
    auto c = care.find(seq);
    if (c == care.end() || voided.count(seq)) continue;
    const auto lines = c->second.kind == CareKind::kMission ? MissionLines(ctx, c->second)
                                                            : CommunityLines(ctx, c->second);
    for (const Line& l : lines) {
      if (Status e = put_line(l); !e) return e;
    }
  }
  ctx.ClearAllAssessments();
  if (Status d = w.FlushDaily(); !d) return d;
  if (Status d = w.FlushTallies(); !d) return d;
  w.batch.Put(cf_, kSeqKey, BE64(to));
  std::unique_lock<std::shared_mutex> lock;
  if (write_lock_) lock = std::unique_lock<std::shared_mutex>(*write_lock_);
  rocksdb::Status ws = db_->Write(rocksdb::WriteOptions(), &w.batch);
  if (!ws.ok()) {
    static_.reset();  // the caches may be ahead of what was written: reload next time
    return Error{ErrorCode::kStorage, "writing projections: " + ws.ToString()};
  }
  voided_.insert(new_voids.begin(), new_voids.end());
  stats_.events_applied += to - from + 1;
  return Ok();
}

Status ProjectionStore::Rebuild(const std::function<void(Seq, Seq)>& progress) {
  const Seq head = log_.head().seq;
  History h;
  Seq read = 0;
  Status s = log_.ReadRange(1, head, [&](const StoredEventView& v) {
    h.Add(v);
    if (progress && (++read & 0xffff) == 0) progress(read, head);
    return true;
  });
  if (!s) return s;
  h.Seal();
  const Projection p = Project(h, RulesetCatalog(), 2);

  std::unique_lock<std::shared_mutex> lock;  // readers wait for the whole rewrite
  if (write_lock_) lock = std::unique_lock<std::shared_mutex>(*write_lock_);
  rocksdb::WriteBatch b;
  auto flush = [&](bool force) -> Status {
    if (!force && b.Count() < kRebuildBatchOps) return Ok();
    rocksdb::Status ws = db_->Write(rocksdb::WriteOptions(), &b);
    b.Clear();
    if (!ws.ok()) return Error{ErrorCode::kStorage, "writing projections: " + ws.ToString()};
    return Ok();
  };
  // Everything goes, the seq key first: a crash before the end leaves a store at seq 0.
  b.DeleteRange(cf_, std::string(1, '\0'), std::string(1, '\x7f'));
  for (Seq seq : h.static_seqs) b.Put(cf_, SeqKey('x', seq), "");
  for (Seq seq : h.voided()) b.Put(cf_, SeqKey('v', seq), "");
  for (const auto& [key, list] : h.assessments) {
    for (const auto& [day, seq] : list) {
      b.Put(cf_, BenKey(h.beneficiaries.Name(key.first), seq), std::string(1, kAssessment));
    }
  }
  for (const CareEvent& c : h.care) {
    if (c.kind == CareKind::kGroup) {
      for (const Person& person : c.participants) {
        b.Put(cf_, BenKey(h.beneficiaries.Name(person.who), c.seq), std::string(1, kCare));
      }
    } else if (c.kind != CareKind::kCommunity && c.kind != CareKind::kMission) {
      b.Put(cf_, BenKey(h.beneficiaries.Name(c.beneficiary.who), c.seq), std::string(1, kCare));
    }
    if (Status f = flush(false); !f) return f;
  }
  for (const auto& [key, cents] : p.allocated) {
    b.Put(cf_, BudgetKey(h.networks.Name(key.first), key.second),
          BE64(static_cast<uint64_t>(cents.value)));
  }
  std::map<std::pair<NetworkIdx, CivilDay>, std::pair<int64_t, int64_t>> daily;
  std::map<std::string, LineTally> tallies;  // by TallyKey
  for (const Line& l : p.lines) {
    const std::string& provider = h.providers.Name(l.provider);
    const LineRecord record = ToRecord(h, l);
    b.Put(cf_, LineKey(provider, l.day, l.seq, l.part), EncodeLine(record));
    tallies[TallyKey(MonthOf(l.day), record.network_id, provider)].Add(record);
    if (l.billable()) {
      auto& d = daily[{l.network, l.day}];
      ++d.first;
      d.second += l.insurer.value;
    }
    if (Status f = flush(false); !f) return f;
  }
  for (const auto& [key, d] : daily) {
    b.Put(cf_, DailyKey(h.networks.Name(key.first), key.second), DailyValue(d.first, d.second));
  }
  for (const auto& [key, t] : tallies) {
    assert(t.consistent() && !t.empty());
    b.Put(cf_, key, EncodeTally(t));
  }
  for (const IssuedInvoice& inv : h.issued_invoices) b.Put(cf_, SeqKey('I', inv.seq), "");
  for (const NetworkRecord& n : NetworkDirectory(h)) {
    b.Put(cf_, NetworkKey(n.network_id), EncodeNetwork(n));
  }
  WriteEnrolments(h, cf_, &b);
  for (const Trajectory& t : p.trajectories) {
    const TrajectoryRecord r = ToRecord(h, t);
    b.Put(cf_, TrajKey(h.beneficiaries.Name(t.who), r), EncodeTrajectory(r));
    if (Status f = flush(false); !f) return f;
  }
  for (const GroupShare& sh : p.shares)
    b.Put(cf_, ShareKey(sh.seq, sh.participant), ShareValue(sh));
  b.Put(cf_, kFormatKey, BE64(kStoreFormat));
  b.Put(cf_, kSeqKey, BE64(head));
  if (Status f = flush(true); !f) return f;
  static_.reset();
  ctx_.reset();
  rules_.reset();
  ++stats_.rebuilds;
  stats_.events_applied += head;
  return Ok();
}

Result<std::vector<LineRecord>> ProjectionStore::Lines(std::string_view provider,
                                                       int32_t month) const {
  return ProjectionView(*this, false).Lines(provider, month);
}
Result<std::vector<TrajectoryRecord>> ProjectionStore::Trajectories(std::string_view niss) const {
  return ProjectionView(*this, false).Trajectories(niss);
}
Status ProjectionStore::ForEachTrajectory(
    const std::function<void(std::string_view, const TrajectoryRecord&)>& fn) const {
  return ProjectionView(*this, false).ForEachTrajectory(fn);
}
Result<Cents> ProjectionStore::Allocated(std::string_view network, int32_t year) const {
  return ProjectionView(*this, false).Allocated(network, year);
}
Result<std::map<CivilDay, Cents>> ProjectionStore::DailyConsumed(std::string_view network,
                                                                 int32_t year) const {
  return ProjectionView(*this, false).DailyConsumed(network, year);
}
Result<std::unique_ptr<RulesetCatalog>> ProjectionStore::Rulesets() const {
  return ProjectionView(*this, false).Rulesets();
}

Result<Hash> ProjectionStore::Digest() const {
  Sha256 sha;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string frame;
    PutStr(&frame, it->key().ToStringView());
    PutStr(&frame, it->value().ToStringView());
    sha.Update(frame);
  }
  if (!it->status().ok()) return Error{ErrorCode::kStorage, it->status().ToString()};
  return sha.Finish();
}

}  // namespace ledger
