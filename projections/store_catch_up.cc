// ProjectionStore::Apply: one catch-up of the persisted projections over events from..to, in one
// atomic batch, in named phases (see CatchUpPass). A beneficiary whose new events all come after
// where its fold ended (the usual case: care is recorded in date order) is folded on from its
// stored state, reading none of its earlier events; any other (a late recording, a void, an
// assessment dated before what was folded) is folded again from its first event. Both give the
// bytes a rebuild gives (tests/projection_identity_test.cc).
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>

#include "ledger/bytes.h"
#include "projections/fold_input.h"
#include "projections/projector.h"
#include "projections/store.h"
#include "projections/store_keys.h"
#include "schemas/invariant.h"

namespace ledger {
using namespace store_keys;  // NOLINT: this file writes the keys

namespace {

constexpr char kAssessment = 'a', kCare = 'c';
constexpr size_t kNamesCachedMax = 2000000;  // names interned by catch-ups before a reload

Error Corrupt(const std::string& what) {
  return Error{ErrorCode::kCorruption, "projection store: " + what};
}
Error Storage(const rocksdb::Status& s) { return Error{ErrorCode::kStorage, s.ToString()}; }

}  // namespace

// One catch-up: what it read, what it decided, and the batch it writes.
struct ProjectionStore::CatchUpPass {
  ProjectionStore& store;
  rocksdb::DB* db;
  rocksdb::ColumnFamilyHandle* cf;
  rocksdb::WriteBatch batch;
  Seq from = 0;  // the pass's first seq
  // Deltas of the daily consumption (network, day) and of the tallies (TallyKey).
  std::map<std::pair<std::string, CivilDay>, std::pair<int64_t, int64_t>> daily;
  std::map<std::string, LineTally> tallies;

  std::map<std::string, std::map<Seq, char>> new_ben;  // this batch's index entries, by NISS
  std::set<Seq> new_voids, void_targets;
  std::set<std::string> dirty;           // beneficiaries whose fold changes
  std::set<std::string> refold;          // of those, the ones folded again from the start
  std::set<std::string> assess_changed;  // with an assessment recorded or voided
  std::vector<Seq> priced;               // community interventions and support missions
  std::map<Seq, CareEvent> care;         // the care events this pass prices
  std::map<Seq, std::string> ids;        // their event ids
  std::set<Seq> assessments_loaded;      // assessment events read for refolds
  std::vector<std::tuple<BeneficiaryIdx, NetworkIdx, CivilDay, Seq>> assessments;
  // Stored fold states read, by NISS (nullopt: none stored; a new beneficiary).
  std::map<std::string, std::optional<FoldStateRecord>> states;
  std::set<std::string> folded, participants;
  std::map<Seq, std::map<uint32_t, GroupShare>> overlay;  // recomputed shares, by group seq
  // The providers and networks with enrolments or departures in this batch: their enrolment
  // periods before it.
  std::map<std::pair<std::string, std::string>, std::vector<EnrolmentPeriod>> enrolment_changes;
  bool rebuild = false;
  // Part of a Rebuild: the log's static facts, budgets and voids are in place already, and the
  // store's write lock is held by it.
  bool rebuilding = false;

  CatchUpPass(ProjectionStore& s, bool r) : store(s), db(s.db_), cf(s.cf()), rebuilding(r) {}
  History& h() { return *store.static_; }

  // --- reading the store
  // The keys with `prefix`, from `start` (empty: the first) on, through one iterator made at the
  // pass's first scan and bounded to each prefix's keys: no iterator made for each scan (a pass
  // scans the trajectories of every beneficiary it folds), and no block read past the prefix's
  // last key. The store does not change during a pass (its batch is written at the end), so that
  // iterator sees what a new one would.
  Status Scan(const std::string& prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn,
              const std::string& start = {}) {
    // Just past every key with the prefix (the tag letter that starts it is never 0xff).
    scan_upper = prefix;
    while (static_cast<unsigned char>(scan_upper.back()) == 0xff) scan_upper.pop_back();
    scan_upper.back() = static_cast<char>(scan_upper.back() + 1);
    scan_upper_slice = scan_upper;
    LEDGER_ASSERT(!scanning);  // one iterator: a scan is never made from another's callback
    scanning = true;
    if (!scan_it) {
      scan_options.iterate_upper_bound = &scan_upper_slice;
      scan_it.reset(db->NewIterator(scan_options, cf));
    }
    for (scan_it->Seek(start.empty() ? prefix : start);
         scan_it->Valid() && scan_it->key().starts_with(prefix); scan_it->Next()) {
      if (!fn(scan_it->key().ToStringView(), scan_it->value().ToStringView())) break;
    }
    scanning = false;
    if (!scan_it->status().ok()) return Storage(scan_it->status());
    return Ok();
  }
  rocksdb::ReadOptions scan_options;
  std::string scan_upper;
  rocksdb::Slice scan_upper_slice;
  std::unique_ptr<rocksdb::Iterator> scan_it;
  bool scanning = false;
  // The beneficiary's index entries: stored ones and this batch's.
  Status Entries(const std::string& niss, std::map<Seq, char>* out) {
    Status s = Scan(Prefixed('b', niss), [&](std::string_view k, std::string_view val) {
      (*out)[GetBE64(k.data() + k.size() - 8)] = val.empty() ? kCare : val[0];
      return true;
    });
    if (auto it = new_ben.find(niss); it != new_ben.end()) {
      out->insert(it->second.begin(), it->second.end());
    }
    return s;
  }
  // The stored fold state of a beneficiary (read once, found or not); null when there is none.
  Result<const FoldStateRecord*> State(const std::string& niss) {
    auto it = states.find(niss);
    if (it == states.end()) {
      if (Status s = ReadStates(std::span(&niss, 1)); !s) return s.error();
      it = states.find(niss);
      LEDGER_ASSERT(it != states.end());
    }
    return it->second ? &*it->second : nullptr;
  }
  // Reads the stored fold states of `nisses` (in key order) not read yet, in one MultiGet for
  // each slice of them: RocksDB looks them up file by file, one block read for neighbours.
  template <typename Names>
  Status ReadStates(const Names& nisses) {
    constexpr size_t kSlice = 4096;
    std::vector<std::string> keys;
    std::vector<const std::string*> names;
    for (auto i = std::begin(nisses); i != std::end(nisses);) {
      keys.clear();
      names.clear();
      for (; i != std::end(nisses) && keys.size() < kSlice; ++i) {
        if (states.count(*i)) continue;
        keys.push_back(StateKey(*i));
        names.push_back(&*i);
      }
      if (keys.empty()) continue;
      std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
      std::vector<rocksdb::PinnableSlice> values(keys.size());
      std::vector<rocksdb::Status> statuses(keys.size());
      db->MultiGet(rocksdb::ReadOptions(), cf, keys.size(), slices.data(), values.data(),
                   statuses.data(), /*sorted_input=*/false);
      for (size_t k = 0; k < keys.size(); ++k) {
        if (statuses[k].IsNotFound()) {
          states.emplace(*names[k], std::nullopt);
          continue;
        }
        if (!statuses[k].ok()) return Storage(statuses[k]);
        FoldStateRecord r;
        if (!DecodeFoldState(values[k].ToStringView(), &r)) {
          return Corrupt("bad fold state record");
        }
        states.emplace(*names[k], std::move(r));
      }
    }
    return Ok();
  }

  // --- writing lines, with their tallies and daily sums
  void Count(std::string_view provider, const LineRecord& l, int64_t sign) {
    tallies[TallyKey(MonthOf(l.day), l.network_id, provider)].Add(l, sign);
    if (!l.billable()) return;
    auto& d = daily[{l.network_id, l.day}];
    d.first += sign;
    d.second += sign * l.insurer.value;
  }
  // Replaces (or deletes, when `line` is null) the provider's line at `key`. `fresh`: it cannot
  // be stored yet (a rebuild's slice, pricing its own events for the first time).
  Status SetLine(std::string_view provider, const std::string& key, const LineRecord* line,
                 bool fresh = false) {
    std::string old;
    rocksdb::Status s =
        fresh ? rocksdb::Status::NotFound() : db->Get(rocksdb::ReadOptions(), cf, key, &old);
    if (s.ok()) {
      LineRecord prev;
      if (!DecodeLine(old, &prev)) return Corrupt("bad line record");
      Count(provider, prev, -1);
    } else if (!s.IsNotFound()) {
      return Storage(s);
    }
    if (line) {
      LEDGER_ASSERT(line->fee == line->copay + line->insurer);  // conservation, where written
      Count(provider, *line, +1);
      batch.Put(cf, key, EncodeLine(*line));
    } else if (s.ok()) {
      batch.Delete(cf, key);
    }
    return Ok();
  }
  Status PutLine(const Line& l) {
    const LineRecord r = ToRecord(h(), l, ids[l.seq]);
    const std::string& provider = h().providers.Name(l.provider);
    // A line of this pass's events cannot be stored yet: the store reflects the events before
    // `from` (a catch-up) or was emptied of what comes from `from` on (a rebuild's slice).
    return SetLine(provider, LineKey(provider, l.day, l.seq, l.part), &r, l.seq >= from);
  }

  // The NISS of each beneficiary a care event (or an assessment) concerns, for the index and
  // for refolds.
  std::vector<std::string> BeneficiariesOf(const StoredEventView& v) {
    if (auto a = h().ToAssessment(v)) return {h().beneficiaries.Name(std::get<0>(*a))};
    CareEvent c;
    if (!h().ToCare(v, &c)) return {};
    return NamesOf(c);
  }
  std::vector<std::string> NamesOf(const CareEvent& c) {
    std::vector<std::string> out;
    ForEachBeneficiary(c, [&](BeneficiaryIdx who) { out.push_back(h().beneficiaries.Name(who)); });
    return out;
  }
  // Deletes the lines a voided care event produced (the keys derive from its content).
  Status DeleteLinesOf(const StoredEventView& v) {
    CareEvent c;
    if (!h().ToCare(v, &c)) return Ok();
    auto drop = [&](ProviderIdx p, uint32_t part) {
      const std::string& provider = h().providers.Name(p);
      return SetLine(provider, LineKey(provider, c.day, c.seq, part), nullptr, c.seq >= from);
    };
    Status failure = Ok();
    auto collect = [&](Status st) {
      if (!st) failure = st;
    };
    switch (c.kind) {
      case CareKind::kIndividual:
      case CareKind::kMission:
        collect(drop(c.provider, 0));
        break;
      case CareKind::kGroup:
      case CareKind::kCommunity:
        for (uint32_t i = 0; i < c.facilitators.size(); ++i)
          collect(drop(c.facilitators[i].provider, i));
        break;
      case CareKind::kConcertation:
        for (uint32_t i = 0; i < c.concertation.size(); ++i) {
          if (c.concertation[i].provider != kNoProvider)
            collect(drop(c.concertation[i].provider, i));
        }
        break;
      case CareKind::kException:
        break;
    }
    return failure;
  }

  // A provider's enrolment periods in a network, of the events not voided.
  std::vector<EnrolmentPeriod> PeriodsOf(const std::string& provider, const std::string& network) {
    std::vector<EnrolmentEvent> events;
    const auto p = h().providers.Find(provider);
    const auto n = h().networks.Find(network);
    if (p && n) {
      if (auto it = h().enrolments.find({*p, *n}); it != h().enrolments.end()) {
        for (const EnrolmentEvent& e : it->second) {
          if (!h().Voided(e.seq)) events.push_back(e);
        }
      }
    }
    return EnrolmentPeriods(std::move(events));
  }
  // Whether the network has a registration that is not voided.
  bool Registered(const std::string& network) {
    const auto n = h().networks.Find(network);
    return n && std::any_of(h().registrations.begin(), h().registrations.end(),
                            [&](const NetworkRegistration& r) {
                              return r.network == *n && !h().Voided(r.seq);
                            });
  }

  Status ReadBatch(Seq from, Seq to);
  Status Enrolments();
  Status ApplyVoids();
  Status Decide();
  Status Load();
  Status Fold();
  Status PriceSessions();
  Status Flush(Seq to);
};

// Phase 1: the new events. Index entries, budgets and invoices are written; care events are kept
// to price; a network, enrolment or ruleset asks for a rebuild.
Status ProjectionStore::CatchUpPass::ReadBatch(Seq first, Seq to) {
  from = first;
  Status failure = Ok();
  Status s = store.log_.ReadRange(first, to, [&](const StoredEventView& v) {
    const auto ev = v.event();
    const auto body = ev.getBody();
    const FoldInput input = FoldInputOf(body.which());
    if (rebuilding && IsStaticFact(input)) {
      return true;  // in the context already (ProjectionStore::WriteStatic)
    }
    switch (input) {
      case FoldInput::kNetwork:
        // A network registered again changes nothing the folds or the directory read (the
        // first registration holds): only the static seqs list it. A new one: rebuild.
        if (!Registered(body.getNetworkRegistered().getNetworkId().cStr())) {
          rebuild = true;
          return false;
        }
        h().Add(v);
        batch.Put(cf, SeqKey('x', v.seq()), "");
        return true;
      case FoldInput::kRuleset:
        rebuild = true;
        return false;
      case FoldInput::kEnrolment: {
        // The fold's context may change for this provider in this network: its lines there
        // are priced again where it does (Enrolments()).
        const bool enrolled = body.isProviderEnrolled();
        std::pair<std::string, std::string> pair{
            enrolled ? body.getProviderEnrolled().getProviderId().cStr()
                     : body.getProviderLeft().getProviderId().cStr(),
            enrolled ? body.getProviderEnrolled().getNetworkId().cStr()
                     : body.getProviderLeft().getNetworkId().cStr()};
        if (!enrolment_changes.count(pair)) {
          std::vector<EnrolmentPeriod> before = PeriodsOf(pair.first, pair.second);
          enrolment_changes.emplace(std::move(pair), std::move(before));
        }
        h().Add(v);
        batch.Put(cf, SeqKey('x', v.seq()), "");
        return true;
      }
      case FoldInput::kBudget: {
        auto b = body.getBudgetAllocated();
        batch.Put(cf, BudgetKey(b.getNetworkId().cStr(), b.getYear()),
                  BE64(static_cast<uint64_t>(b.getCareBudgetCents())));
        return true;
      }
      case FoldInput::kVoid: {
        auto target = store.log_.FindId(body.getEventVoided().getTarget().cStr());
        if (!target || !target->has_value()) {
          failure = target ? Status(Corrupt("void target not found")) : Status(target.error());
          return false;
        }
        void_targets.insert(**target);
        return true;
      }
      case FoldInput::kIssuedInvoice:
        batch.Put(cf, SeqKey('I', v.seq()), "");
        return true;
      case FoldInput::kAssessment:
      case FoldInput::kCare:
        break;
    }
    ids[v.seq()] = ev.getId().cStr();
    std::vector<std::string> concerned;
    char kind = kCare;
    if (auto a = h().ToAssessment(v)) {
      assessments.emplace_back(std::get<0>(*a), std::get<1>(*a), std::get<2>(*a), v.seq());
      assessments_loaded.insert(v.seq());
      concerned = {h().beneficiaries.Name(std::get<0>(*a))};
      kind = kAssessment;
    } else if (CareEvent c; h().ToCare(v, &c)) {
      if (c.kind == CareKind::kCommunity || c.kind == CareKind::kMission) priced.push_back(v.seq());
      concerned = NamesOf(c);
      care.emplace(v.seq(), std::move(c));
    }
    for (const std::string& niss : concerned) {
      new_ben[niss][v.seq()] = kind;
      batch.Put(cf, BenKey(niss, v.seq()), std::string(1, kind));
      dirty.insert(niss);
      if (kind == kAssessment) assess_changed.insert(niss);
    }
    return true;
  });
  if (!s) return s;
  return failure;
}

// Phase 1b: enrolments and departures. The fold's context is built again with them, the
// directory's periods of the pair are rewritten, and every event with a line of that provider
// in that network dated on or after the first day its enrolment changed is priced again: its
// beneficiaries folded again from the start (a group's participants: whether the group is paid
// decides their counters), a community intervention or support mission repriced. The fold reads
// nothing else of an enrolment than whether the provider is enrolled on a day, so the other
// lines keep their price: an enrolment while enrolled (a file that enrols its providers again)
// reprices nothing.
Status ProjectionStore::CatchUpPass::Enrolments() {
  if (enrolment_changes.empty()) return Ok();
  bool context_changed = false;
  std::vector<Seq> affected;
  for (const auto& [pair, before] : enrolment_changes) {
    const auto& [provider, network] = pair;
    const std::vector<EnrolmentPeriod> periods = PeriodsOf(provider, network);
    if (periods.empty()) {
      batch.Delete(cf, EnrolKey(network, provider));
      batch.Delete(cf, ProviderNetworkKey(provider, network));
    } else {
      batch.Put(cf, EnrolKey(network, provider), EncodePeriods(periods));
      batch.Put(cf, ProviderNetworkKey(provider, network), "");
    }
    const std::optional<CivilDay> since = FirstDifference(before, periods);
    if (!since) continue;
    context_changed = true;
    bool bad = false;
    Status st = Scan(
        Prefixed('L', provider),
        [&](std::string_view, std::string_view v) {
          LineRecord l;
          bad = !DecodeLine(v, &l);
          if (!bad && l.network_id == network && l.day >= *since) affected.push_back(l.seq);
          return !bad;
        },
        LinePrefix(provider, MonthOf(*since)));
    if (!st) return st;
    if (bad) return Corrupt("bad line record");
  }
  // The context is built again only when a provider's enrolled days changed (it reads nothing
  // else of an enrolment).
  if (context_changed) {
    store.ctx_ = std::make_unique<FoldContext>(ContextOf(h(), store.rules_.get()));
  }
  std::sort(affected.begin(), affected.end());
  affected.erase(std::unique(affected.begin(), affected.end()), affected.end());
  std::erase_if(affected, [&](Seq q) { return care.count(q) > 0; });  // this batch's: priced anyway
  return store.log_.ReadSeqs(affected, [&](const StoredEventView& v) {
    const auto body = v.event().getBody();
    if (body.isCommunityIntervention() || body.isSupportMission()) {
      ids[v.seq()] = v.event().getId().cStr();
      if (CareEvent c; h().ToCare(v, &c)) care.emplace(v.seq(), std::move(c));
      priced.push_back(v.seq());
    }
    for (const std::string& niss : BeneficiariesOf(v)) {
      dirty.insert(niss);
      refold.insert(niss);
    }
  });
}

// Phase 2: voided care events lose their lines; their beneficiaries are folded again. A void of
// anything else changes the context of every fold: rebuild.
Status ProjectionStore::CatchUpPass::ApplyVoids() {
  Status failure = Ok();
  Status s = store.log_.ReadSeqs(
      {void_targets.begin(), void_targets.end()}, [&](const StoredEventView& v) {
        const auto ev = v.event();
        const auto body = ev.getBody();
        if (IsStaticFact(FoldInputOf(body.which()))) {
          rebuild = true;
          return;
        }
        new_voids.insert(v.seq());
        batch.Put(cf, SeqKey('v', v.seq()), "");
        if (Status d = DeleteLinesOf(v); !d) failure = d;
        for (const std::string& niss : BeneficiariesOf(v)) {
          dirty.insert(niss);
          refold.insert(niss);
          if (body.isAssessmentRecorded()) assess_changed.insert(niss);
        }
        if (body.isSessionGroup()) {
          std::string prefix(1, 'g');
          PutBE64(&prefix, v.seq());
          Status del = Scan(prefix, [&](std::string_view k, std::string_view) {
            batch.Delete(cf, k);
            return true;
          });
          if (!del) failure = del;
        }
      });
  if (!s) return s;
  return failure;
}

// Phase 3: which dirty beneficiaries resume from their stored state and which are folded again.
// A refold of someone whose assessments changed may change the billability of their group
// sessions, hence every participant's fold: they are folded again too (to a fixed point).
Status ProjectionStore::CatchUpPass::Decide() {
  // This batch's assessments and voided events settle first: a resumed fold needs neither.
  std::map<BeneficiaryIdx, std::string> names;
  for (const std::string& niss : dirty) names[h().beneficiaries.Intern(niss)] = niss;
  if (Status st = ReadStates(dirty); !st) return st;
  for (const auto& [who, network, day, seq] : assessments) {
    auto state = State(names[who]);
    if (!state) return state.error();
    // An assessment dated on or before what was folded may make earlier sessions billable.
    if (!*state || day <= (*state)->position.day) refold.insert(names[who]);
  }
  for (const std::string& niss : dirty) {
    if (refold.count(niss)) continue;
    auto state = State(niss);
    if (!state) return state.error();
    if (!*state) {
      refold.insert(niss);
      continue;
    }
    for (const auto& [seq, kind] : new_ben[niss]) {
      auto c = care.find(seq);
      if (c == care.end()) continue;  // an assessment
      if (new_voids.count(seq) || !((*state)->position < PositionOf(c->second))) {
        refold.insert(niss);  // recorded late, or voided in this very batch
        break;
      }
    }
  }
  return Ok();
}

// Phase 4: the events the folds need. A resumed beneficiary: this batch's. A refolded one: all
// of its events, and its group sessions' other participants when its assessments changed.
Status ProjectionStore::CatchUpPass::Load() {
  auto load = [&](std::vector<Seq> seqs, std::vector<std::vector<std::string>>* groups) {
    std::sort(seqs.begin(), seqs.end());
    seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
    std::erase_if(seqs, [&](Seq q) { return care.count(q) || assessments_loaded.count(q); });
    return store.log_.ReadSeqs(seqs, [&](const StoredEventView& v) {
      ids[v.seq()] = v.event().getId().cStr();
      if (auto a = h().ToAssessment(v)) {
        assessments.emplace_back(std::get<0>(*a), std::get<1>(*a), std::get<2>(*a), v.seq());
        assessments_loaded.insert(v.seq());
      } else if (CareEvent c; h().ToCare(v, &c)) {
        care.emplace(v.seq(), std::move(c));
      }
      if (groups && v.event().getBody().isSessionGroup()) groups->push_back(BeneficiariesOf(v));
    });
  };
  std::set<std::string> loaded;
  while (true) {
    std::vector<Seq> seqs;
    std::vector<std::string> fresh;
    for (const std::string& niss : refold) {
      if (loaded.insert(niss).second) fresh.push_back(niss);
    }
    if (fresh.empty()) break;
    for (const std::string& niss : fresh) {
      std::map<Seq, char> e;
      if (Status st = Entries(niss, &e); !st) return st;
      for (const auto& [seq, kind] : e) seqs.push_back(seq);
    }
    std::vector<std::vector<std::string>> groups;
    if (Status st = load(std::move(seqs), &groups); !st) return st;
    for (const auto& members : groups) {
      const bool cascade = std::any_of(members.begin(), members.end(), [&](const std::string& n) {
        return refold.count(n) && assess_changed.count(n) > 0;
      });
      for (const std::string& n : members) {
        participants.insert(n);
        if (cascade) {
          dirty.insert(n);
          refold.insert(n);
        }
      }
    }
  }
  // The groups of this batch: their participants' assessments price them.
  for (const auto& [seq, c] : care) {
    if (c.kind != CareKind::kGroup) continue;
    for (const Person& p : c.participants) participants.insert(h().beneficiaries.Name(p.who));
  }
  if (Status st = load({priced.begin(), priced.end()}, nullptr); !st) return st;
  for (const std::string& niss : dirty) folded.insert(niss);
  return Ok();
}

// Phase 5: the folds. The context's assessments: refolded beneficiaries' from their events,
// every other beneficiary's (resumed, or taking part in a repriced group) from its stored state.
Status ProjectionStore::CatchUpPass::Fold() {
  FoldContext& ctx = *store.ctx_;
  ctx.ClearAllAssessments();
  std::set<Seq> voided;
  for (const auto& [seq, id] : ids) {
    if (new_voids.count(seq) || store.voided_.count(seq)) voided.insert(seq);
  }
  // The live assessments read, by beneficiary (a beneficiary's are looked up, not searched for).
  std::unordered_map<BeneficiaryIdx, std::vector<std::pair<NetworkIdx, CivilDay>>> assessed;
  for (const auto& [who, network, day, seq] : assessments) {
    if (!voided.count(seq)) assessed[who].emplace_back(network, day);
  }
  for (const auto& [who, list] : assessed) {
    if (!refold.count(h().beneficiaries.Name(who))) continue;
    for (const auto& [network, day] : list) ctx.AddAssessment(who, network, day);
  }
  std::set<std::string> context = participants;
  context.insert(folded.begin(), folded.end());
  for (const std::string& niss : context) {
    if (refold.count(niss)) continue;
    auto state = State(niss);
    if (!state) return state.error();
    const BeneficiaryIdx who = h().beneficiaries.Intern(niss);
    if (*state) {
      for (const auto& [network, day] : (*state)->first_assessments) {
        ctx.AddAssessment(who, h().networks.Intern(network), day);
      }
    }
    if (auto it = assessed.find(who); it != assessed.end()) {
      for (const auto& [network, day] : it->second) ctx.AddAssessment(who, network, day);
    }
  }
  // Each beneficiary's events to fold: all of them (refold) or this batch's (resume; `care` may
  // hold its earlier group sessions too, read for another participant's refold).
  std::map<BeneficiaryIdx, std::vector<const CareEvent*>> by;
  std::map<BeneficiaryIdx, const std::map<Seq, char>*> resumed;  // their entries of this batch
  std::set<BeneficiaryIdx> wanted;
  for (const std::string& niss : folded) {
    const BeneficiaryIdx who = h().beneficiaries.Intern(niss);
    wanted.insert(who);
    if (!refold.count(niss)) resumed[who] = &new_ben[niss];
  }
  auto take = [&](BeneficiaryIdx who, Seq seq) {
    if (!wanted.count(who)) return false;
    auto r = resumed.find(who);
    return r == resumed.end() || r->second->count(seq) > 0;
  };
  for (const auto& [seq, c] : care) {
    if (voided.count(seq)) continue;
    ForEachBeneficiary(c, [&](BeneficiaryIdx who) {
      if (take(who, seq)) by[who].push_back(&c);
    });
  }
  for (const std::string& niss : folded) {
    const BeneficiaryIdx idx = h().beneficiaries.Intern(niss);
    std::vector<Trajectory> stored;
    // Trajectories are stored with a fold state: none without one (a new beneficiary). The
    // stored ones, by key, are rewritten where the fold changed them and deleted where it has
    // them no more (point deletes, not DeleteRange: range tombstones slow every later read of
    // the memtable).
    auto had = State(niss);
    if (!had) return had.error();
    std::map<std::string, std::string, std::less<>> stored_keys;
    if (*had) {
      bool bad = false;
      Status scan = Scan(Prefixed('T', niss), [&](std::string_view k, std::string_view v) {
        stored_keys.emplace(k, v);
        if (refold.count(niss)) return true;
        TrajectoryRecord r;
        bad = !DecodeTrajectory(v, &r);
        if (!bad) stored.push_back(FromRecord(h(), idx, r));
        return !bad;
      });
      if (!scan) return scan;
      if (bad) return Corrupt("bad trajectory record");
    }
    BeneficiaryFold fold;
    if (refold.count(niss)) {
      fold = FoldBeneficiary(ctx, idx, by[idx]);
    } else {
      auto state = State(niss);
      if (!state) return state.error();
      LEDGER_ASSERT(*state != nullptr);
      fold = ResumeBeneficiary(ctx, idx, std::move(stored), CarryOf(h(), **state), by[idx]);
    }
    ++(refold.count(niss) ? store.stats_.beneficiaries_refolded
                          : store.stats_.beneficiaries_resumed);
    for (const Trajectory& t : fold.trajectories) {
      const TrajectoryRecord r = ToRecord(h(), t);
      std::string key = TrajKey(niss, r);
      std::string value = EncodeTrajectory(r);
      auto it = stored_keys.find(key);
      if (it != stored_keys.end()) {
        const bool same = it->second == value;
        stored_keys.erase(it);
        if (same) continue;
      }
      batch.Put(cf, key, value);
    }
    for (const auto& [key, value] : stored_keys) batch.Delete(cf, key);
    for (const Line& l : fold.lines) {
      if (Status st = PutLine(l); !st) return st;
    }
    for (const GroupShare& sh : fold.shares) {
      batch.Put(cf, ShareKey(sh.seq, sh.participant), ShareValue(sh));
      overlay[sh.seq][sh.participant] = sh;
    }
    // The state to resume from next time: the carry, and the first assessment by network as the
    // context holds it now.
    std::vector<std::pair<NetworkIdx, CivilDay>> firsts;
    for (const auto& [network, day] : ctx.FirstAssessments(idx)) firsts.emplace_back(network, day);
    const FoldStateRecord state = ToRecord(h(), fold.carry, firsts);
    states[niss] = state;  // a later read in this pass sees the fold written
    batch.Put(cf, StateKey(niss), EncodeFoldState(state));
  }
  return Ok();
}

// Phase 6: the group sessions whose shares were recomputed, and this batch's community
// interventions and support missions.
Status ProjectionStore::CatchUpPass::PriceSessions() {
  const FoldContext& ctx = *store.ctx_;
  auto is_voided = [&](Seq seq) { return new_voids.count(seq) || store.voided_.count(seq); };
  for (const auto& entry : overlay) {
    const Seq gseq = entry.first;  // a plain variable: lambdas may not capture a binding
    const auto& mine = entry.second;
    auto g = care.find(gseq);
    if (g == care.end() || is_voided(gseq)) continue;
    std::map<uint32_t, GroupShare> all;
    std::string prefix(1, 'g');
    PutBE64(&prefix, gseq);
    Status st = Scan(prefix, [&](std::string_view k, std::string_view val) {
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
      if (Status e = PutLine(l); !e) return e;
    }
  }
  for (Seq seq : priced) {
    auto c = care.find(seq);
    if (c == care.end() || is_voided(seq)) continue;
    const auto lines = c->second.kind == CareKind::kMission ? MissionLines(ctx, c->second)
                                                            : CommunityLines(ctx, c->second);
    for (const Line& l : lines) {
      if (Status e = PutLine(l); !e) return e;
    }
  }
  return Ok();
}

// Phase 7: the daily sums and tallies the lines moved, and the seq; written at once.
Status ProjectionStore::CatchUpPass::Flush(Seq to) {
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
      return Storage(s);
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
  for (const auto& [key, delta] : tallies) {
    if (delta == LineTally{}) continue;
    std::string v;
    LineTally t;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf, key, &v);
    if (s.ok()) {
      if (!DecodeTally(v, &t)) return Corrupt("bad tally record");
    } else if (!s.IsNotFound()) {
      return Storage(s);
    }
    t += delta;
    if (!t.consistent()) return Corrupt("a tally that does not add up");
    if (t.empty()) {
      batch.Delete(cf, key);
    } else {
      batch.Put(cf, key, EncodeTally(t));
    }
  }
  // A rebuild's slices leave the seq at 0 until the last is durable (a crash in between
  // rebuilds again from the start).
  if (!rebuilding) batch.Put(cf, kSeqKey, BE64(to));
  std::unique_lock<std::shared_mutex> lock;
  if (store.write_lock_ && !rebuilding) {
    lock = std::unique_lock<std::shared_mutex>(*store.write_lock_);
  }
  rocksdb::WriteOptions options;
  options.disableWAL = rebuilding;  // a rebuild flushes at its end, and restarts from 0
  rocksdb::Status ws = db->Write(options, &batch);
  if (!ws.ok()) return Error{ErrorCode::kStorage, "writing projections: " + ws.ToString()};
  return Ok();
}

Status ProjectionStore::Apply(Seq from, Seq to, bool rebuilding) {
  if (!static_ || static_->beneficiaries.size() > kNamesCachedMax) {
    if (Status l = LoadStatic(); !l) return l;
  }
  CatchUpPass pass(*this, rebuilding);
  Status s = pass.ReadBatch(from, to);
  if (s && !pass.rebuild) s = pass.Enrolments();
  if (s && !pass.rebuild) s = pass.ApplyVoids();
  if (s && pass.rebuild) return Rebuild({});
  if (s) s = pass.Decide();
  if (s) s = pass.Load();
  if (s) s = pass.Fold();
  if (s) s = pass.PriceSessions();
  if (ctx_) ctx_->ClearAllAssessments();
  if (s) s = pass.Flush(to);
  if (!s) {
    static_.reset();  // the caches may be ahead of what was written: reload next time
    return s;
  }
  voided_.insert(pass.new_voids.begin(), pass.new_voids.end());
  stats_.events_applied += to - from + 1;
  return Ok();
}

}  // namespace ledger
