#include "projections/packed_history.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <map>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "ledger/facts.h"
#include "projections/fold_input.h"
#include "projections/key_index.h"
#include "schemas/invariant.h"

namespace ledger {

namespace {

// NISS numbers -> dense indices. A NISS is 11 digits (checked when appended), so it is interned
// by its value: no string is built or hashed. Anything else (never expected) is numbered through
// a string map, under keys with the top bit set.
class NissInterner {
 public:
  static constexpr uint64_t kOdd = uint64_t{1} << 63;

  uint32_t Intern(std::string_view niss) { return index_.Intern(KeyOf(niss)); }
  uint32_t InternKey(uint64_t key) { return index_.Intern(key); }
  size_t size() const { return index_.size(); }
  uint64_t key(uint32_t idx) const { return index_.key(idx); }
  // A key of `other` as a key of this interner (its odd names adopted).
  uint64_t KeyFrom(const NissInterner& other, uint64_t key) {
    return key & kOdd ? OddKey(other.odd_[key & ~kOdd]) : key;
  }
  // The names of odd keys, by key & ~kOdd, taken out.
  std::vector<std::string> TakeOdd() { return std::move(odd_); }

 private:
  uint64_t KeyOf(std::string_view niss) {
    if (niss.size() == 11 &&
        std::all_of(niss.begin(), niss.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      uint64_t v = 0;
      for (char c : niss) v = v * 10 + static_cast<uint64_t>(c - '0');
      return v;
    }
    return OddKey(std::string(niss));
  }
  uint64_t OddKey(const std::string& name) {
    auto [it, inserted] = odd_index_.emplace(name, odd_.size());
    if (inserted) odd_.push_back(name);
    return kOdd | it->second;
  }

  KeyIndex index_;
  std::vector<std::string> odd_;
  std::unordered_map<std::string, uint64_t> odd_index_;
};

// A front for an Interner of few names read over and over (provider and network ids): a name
// is looked up by a 64-bit hash of it in a KeyIndex, and the string map is asked only for a
// name not seen yet or a hash shared by two names.
class FastNames {
 public:
  uint32_t Intern(std::string_view name, Interner* names) {
    uint64_t h = 14695981039346656037ull;  // FNV-1a
    for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    const uint32_t slot = by_hash_.Intern(h >> 1);  // never UINT64_MAX
    if (slot == idx_.size()) idx_.push_back(names->Intern(name));
    const uint32_t idx = idx_[slot];
    return names->Name(idx) == name ? idx : names->Intern(name);
  }

 private:
  KeyIndex by_hash_;
  std::vector<uint32_t> idx_;  // by hash slot: the first name seen with that hash
};

}  // namespace

// What one reader gathers from its seq range, with names interned locally; Load merges the
// parts into the first one's indices. It reads facts (ledger/facts.h): as written beside the
// events, or, for events a version before facts wrote, encoded from the events as read.
struct PackedHistory::Part {
  PackedCare* care = nullptr;  // room for one record per event of the range
  size_t care_size = 0;
  std::vector<CareEvent> details;
  NissInterner beneficiaries;
  Interner providers, networks;
  FastNames provider_names, network_names;
  std::vector<Population> population;  // by network; the first registration holds
  std::vector<std::pair<std::pair<ProviderIdx, NetworkIdx>, EnrolmentEvent>> enrolments;
  std::vector<std::pair<std::tuple<BeneficiaryIdx, NetworkIdx, CivilDay>, Seq>> assessments;
  std::vector<std::pair<Seq, std::string>> rulesets;  // seq, document
  std::vector<std::pair<Seq, Seq>> voids;             // seq, the target's seq
  std::vector<Seq> static_seqs, budget_seqs, invoice_seqs;
  Seq last_seq = 0;

  // Reads one record; false when it is cut short or of an unknown kind.
  bool Add(Seq seq, FactReader& r);
  void AddCare(Seq seq, CivilDay day, CareKind kind, FactReader& r);
  NetworkIdx Network(std::string_view id) {
    const NetworkIdx n = network_names.Intern(id, &networks);
    if (population.size() <= n) population.resize(n + 1, Population::kUnknown);
    return n;
  }
  ProviderIdx Provider(std::string_view id) { return provider_names.Intern(id, &providers); }
  Person PersonOf(FactReader& r) {
    const FactPerson p = r.Person();
    const uint32_t who =
        p.niss == kOddNiss ? beneficiaries.Intern(p.odd) : beneficiaries.InternKey(p.niss);
    return Person{who, p.birth, p.bim};
  }
};

bool PackedHistory::Part::Add(Seq seq, FactReader& r) {
  using B = schema::Event::Body;
  last_seq = std::max(last_seq, seq);
  const uint8_t tag = r.U8();
  if (!IsKnownKind(tag)) return false;
  const auto kind = static_cast<B::Which>(tag);
  const CivilDay day = r.I32();
  const FoldInput input = FoldInputOf(kind);
  if (IsFoldContext(input)) static_seqs.push_back(seq);
  switch (input) {
    case FoldInput::kNetwork: {
      const NetworkIdx n = Network(r.Str());
      const auto population_of = static_cast<schema::Population>(r.U8());
      if (population[n] == Population::kUnknown) population[n] = PopulationOf(population_of);
      return r.ok();
    }
    case FoldInput::kEnrolment: {
      const ProviderIdx p = Provider(r.Str());
      const NetworkIdx n = Network(r.Str());
      enrolments.push_back({{p, n}, {day, seq, kind == B::PROVIDER_ENROLLED}});
      return r.ok();
    }
    case FoldInput::kBudget:
      budget_seqs.push_back(seq);
      return r.ok();  // not folded into lines
    case FoldInput::kIssuedInvoice:
      invoice_seqs.push_back(seq);
      return r.ok();
    case FoldInput::kRuleset:
      rulesets.emplace_back(seq, r.Str32());
      return r.ok();
    case FoldInput::kAssessment: {
      const NetworkIdx n = Network(r.Str());
      const Person p = PersonOf(r);
      assessments.push_back({{p.who, n, day}, seq});
      return r.ok();
    }
    case FoldInput::kVoid:
      voids.emplace_back(seq, r.U64());
      return r.ok();
    case FoldInput::kCare:
      AddCare(seq, day, CareKindOf(kind), r);
      return r.ok();
  }
  return false;
}

// As History::ToCare, packed.
void PackedHistory::Part::AddCare(Seq seq, CivilDay day, CareKind kind, FactReader& r) {
  PackedCare& p = care[care_size++];
  p.seq = static_cast<uint32_t>(seq);
  p.day = day;
  p.who = 0;
  p.birth = 0;
  p.provider = kNoProvider;
  p.network = 0;
  p.flags = 0;
  auto packed_person = [&] {
    const Person person = PersonOf(r);
    p.who = person.who;
    p.birth = person.birth;
    if (person.bim) p.flags |= PackedCare::kBim;
  };
  auto treatment = [&] {
    if (FunctionOf(static_cast<schema::CareFunction>(r.U8())) == CareFunction::kTreatment) {
      p.flags |= PackedCare::kTreatment;
    }
  };
  auto school_cpms = [&] {
    const auto location = static_cast<schema::Location>(r.U8());
    return SchoolCpms(location, static_cast<schema::Organiser>(r.U8()));
  };
  // The other kinds are kept whole, as History keeps them.
  auto detail = [&](CareKind k) -> CareEvent& {
    p.kind = k;
    p.who = static_cast<uint32_t>(details.size());
    CareEvent& c = details.emplace_back();
    c.seq = seq;
    c.day = day;
    c.kind = k;
    return c;
  };
  auto facilitators = [&](CareEvent& c) {
    for (uint32_t n = r.U32(); n > 0 && r.ok(); --n) {
      const ProviderIdx provider = Provider(r.Str());
      c.facilitators.push_back({provider, RoleOf(static_cast<schema::Profession>(r.U8()))});
    }
  };
  switch (kind) {
    case CareKind::kIndividual:
    case CareKind::kException: {
      p.kind = kind;
      p.provider = Provider(r.Str());
      p.network = Network(r.Str());
      packed_person();
      treatment();
      if (kind == CareKind::kException) return;
      if (school_cpms()) p.flags |= PackedCare::kSchoolCpms;
      if (r.U8() != 0) p.flags |= PackedCare::kWithContext;
      return;
    }
    case CareKind::kGroup: {
      CareEvent& c = detail(CareKind::kGroup);
      facilitators(c);
      c.network = Network(r.Str());
      c.function = FunctionOf(static_cast<schema::CareFunction>(r.U8()));
      c.minutes = r.I32();
      c.school_cpms = school_cpms();
      for (uint32_t n = r.U32(); n > 0 && r.ok(); --n) c.participants.push_back(PersonOf(r));
      p.network = c.network;
      return;
    }
    case CareKind::kCommunity: {
      CareEvent& c = detail(CareKind::kCommunity);
      facilitators(c);
      c.network = Network(r.Str());
      c.minutes = r.I32();
      c.interaction_minutes = r.I32();
      c.participant_count = r.I32();
      c.defined_group = r.U8() != 0;
      p.network = c.network;
      return;
    }
    case CareKind::kMission: {
      CareEvent& c = detail(CareKind::kMission);
      c.provider = Provider(r.Str());
      c.network = Network(r.Str());
      c.minutes = r.I32();
      p.network = c.network;
      return;
    }
    case CareKind::kConcertation: {
      CareEvent& c = detail(CareKind::kConcertation);
      c.network = Network(r.Str());
      c.beneficiary = PersonOf(r);
      c.units = r.I32();
      for (uint32_t n = r.U32(); n > 0 && r.ok(); --n) {
        ConcertationParticipant out;
        const std::string_view provider = r.Str();
        if (!provider.empty()) out.provider = Provider(provider);
        out.care_provider = r.U8() != 0;
        c.concertation.push_back(out);
      }
      p.network = c.network;
      return;
    }
  }
}

namespace {

// Local -> merged indices of one part's names.
struct Remap {
  std::vector<uint32_t> beneficiaries, providers, networks;
  uint32_t details_offset = 0;

  ProviderIdx Provider(ProviderIdx p) const { return p == kNoProvider ? p : providers[p]; }
  void Apply(PackedCare& p) const {
    p.network = networks[p.network];
    if (p.kind == CareKind::kIndividual || p.kind == CareKind::kException) {
      p.who = beneficiaries[p.who];
      p.provider = Provider(p.provider);
    } else {
      p.who += details_offset;
    }
  }
  void Apply(CareEvent& c) const {
    c.network = networks[c.network];
    c.provider = Provider(c.provider);
    // Details hold a beneficiary only for a concertation (a part may have no beneficiary).
    if (c.kind == CareKind::kConcertation) c.beneficiary.who = beneficiaries[c.beneficiary.who];
    for (Person& p : c.participants) p.who = beneficiaries[p.who];
    for (Facilitator& f : c.facilitators) f.provider = Provider(f.provider);
    for (ConcertationParticipant& cp : c.concertation) cp.provider = Provider(cp.provider);
  }
};

// Merges `part` into `into` (the first part, whose indices are kept), returning the remap.
Remap MergeNames(PackedHistory::Part& into, const PackedHistory::Part& part) {
  Remap m;
  for (uint32_t i = 0; i < part.beneficiaries.size(); ++i) {
    m.beneficiaries.push_back(into.beneficiaries.InternKey(
        into.beneficiaries.KeyFrom(part.beneficiaries, part.beneficiaries.key(i))));
  }
  for (uint32_t i = 0; i < part.providers.size(); ++i) {
    m.providers.push_back(into.providers.Intern(part.providers.Name(i)));
  }
  for (uint32_t i = 0; i < part.networks.size(); ++i) {
    const NetworkIdx n = into.networks.Intern(part.networks.Name(i));
    m.networks.push_back(n);
    if (into.population.size() <= n) into.population.resize(n + 1, Population::kUnknown);
    // The part is later in the log: its registration holds only for a network still unknown.
    if (into.population[n] == Population::kUnknown) into.population[n] = part.population[i];
  }
  return m;
}

}  // namespace

// Phase 1: reader k reads the facts of its share of the seqs (with the whole of a chunk that
// starts in it), writing its records from where its first chunk starts.
Status PackedHistory::ReadParts(const EventLog& log, Seq head,
                                const std::function<void(Seq, Seq)>& progress,
                                std::vector<Part>* parts) {
  const Seq n = parts->size();
  std::vector<Status> status(n, Ok());
  std::vector<Seq> read_by(n, 0);
  std::atomic<Seq> done{0};
  auto read = [&](size_t k) {
    const Seq from = 1 + head * k / n, to = head * (k + 1) / n;
    if (from > to) return;
    Part& part = (*parts)[k];
    Seq mine = 0, next = 0;
    Status s = log.ReadEveryFact(from, to, [&](const EventLog::FactsChunk& chunk) {
      LEDGER_ASSERT(next == 0 || chunk.first == next);  // gapless: one record per event
      next = chunk.first + chunk.count;
      read_by[k] += chunk.count;
      if (!part.care) part.care = care_.get() + (chunk.first - 1);
      FactReader r(chunk.records);
      bool read_all = true;
      for (uint32_t i = 0; i < chunk.count && read_all; ++i)
        read_all = part.Add(chunk.first + i, r);
      if (!read_all || !r.done()) {
        status[k] = Error{ErrorCode::kCorruption,
                          "facts of seqs " + std::to_string(chunk.first) + " to " +
                              std::to_string(chunk.first + chunk.count - 1) + " are unreadable"};
        return false;
      }
      mine += chunk.count;
      if (mine >= 8192) {
        const Seq all = done.fetch_add(mine) + mine;
        mine = 0;
        if (k == 0 && progress) progress(all, head);
      }
      return true;
    });
    if (!s) status[k] = s;
  };
  std::vector<std::thread> pool;
  for (size_t k = 1; k < n; ++k) pool.emplace_back(read, k);
  read(0);
  for (auto& t : pool) t.join();
  for (const Status& s : status) {
    if (!s) return s;
  }
  Seq total = 0;
  for (Seq r : read_by) total += r;
  LEDGER_ASSERT(total == head);  // every event 1..head read once, across the readers
  return Ok();
}

// Phase 2: names into the first part's indices; records moved down over the gaps between parts.
void PackedHistory::MergeParts(std::vector<Part>& parts) {
  Part& first = parts[0];
  care_size_ = first.care_size;
  details_ = std::move(first.details);
  for (size_t k = 1; k < parts.size(); ++k) {
    Part& part = parts[k];
    Remap m = MergeNames(first, part);
    m.details_offset = static_cast<uint32_t>(details_.size());
    PackedCare* out = care_.get() + care_size_;
    for (size_t i = 0; i < part.care_size; ++i) {
      PackedCare p = part.care[i];
      m.Apply(p);
      out[i] = p;
    }
    care_size_ += part.care_size;
    for (CareEvent& c : part.details) {
      m.Apply(c);
      details_.push_back(std::move(c));
    }
    for (auto& [key, e] : part.enrolments) {
      first.enrolments.push_back({{m.Provider(key.first), m.networks[key.second]}, e});
    }
    for (auto& [a, seq] : part.assessments) {
      auto& [who, network, day] = a;
      first.assessments.push_back({{m.beneficiaries[who], m.networks[network], day}, seq});
    }
    for (auto& r : part.rulesets) first.rulesets.push_back(std::move(r));
    first.voids.insert(first.voids.end(), part.voids.begin(), part.voids.end());
    for (auto [mine, theirs] : {std::pair(&first.static_seqs, &part.static_seqs),
                                std::pair(&first.budget_seqs, &part.budget_seqs),
                                std::pair(&first.invoice_seqs, &part.invoice_seqs)}) {
      mine->insert(mine->end(), theirs->begin(), theirs->end());
    }
    first.last_seq = std::max(first.last_seq, part.last_seq);
  }
  for (size_t i = 1; i < care_size_; ++i) LEDGER_ASSERT(care_[i - 1].seq < care_[i].seq);
  last_seq_ = first.last_seq;
  providers_ = std::move(first.providers);
  networks_ = std::move(first.networks);
  population_ = std::move(first.population);
  static_seqs_ = std::move(first.static_seqs);
  budget_seqs_ = std::move(first.budget_seqs);
  invoice_seqs_ = std::move(first.invoice_seqs);
  niss_keys_.resize(first.beneficiaries.size());
  for (uint32_t i = 0; i < niss_keys_.size(); ++i) niss_keys_[i] = first.beneficiaries.key(i);
  odd_niss_ = first.beneficiaries.TakeOdd();
}

std::string PackedHistory::Niss(BeneficiaryIdx b) const {
  const uint64_t key = niss_keys_[b];
  if (key & NissInterner::kOdd) return odd_niss_[key & ~NissInterner::kOdd];
  std::string out(11, '0');
  uint64_t v = key;
  for (size_t i = 11; i-- > 0; v /= 10) out[i] = static_cast<char>('0' + v % 10);
  return out;
}

// Phase 3: the voids settled; voided care events flagged, voided static facts dropped.
void PackedHistory::ApplyVoids(Part& merged) {
  const std::unordered_set<Seq> voided = SettleVoids(merged.voids);
  PackedCare* care = care_.get();
  details_voided_.assign(details_.size(), false);
  for (Seq seq : voided) {
    PackedCare* end = care + care_size_;
    PackedCare* it =
        std::lower_bound(care, end, seq, [](const PackedCare& c, Seq s) { return c.seq < s; });
    if (it == end || it->seq != seq) continue;  // not a care event
    it->flags |= PackedCare::kVoided;
    if (it->kind != CareKind::kIndividual && it->kind != CareKind::kException) {
      details_voided_[it->who] = true;
    }
  }
  for (const auto& [key, e] : merged.enrolments) {
    if (!voided.count(e.seq)) enrolments_.push_back({key, e});
  }
  for (const auto& [a, seq] : merged.assessments) {
    if (!voided.count(seq)) assessments_.push_back(a);
    assessment_seqs_.emplace_back(std::get<0>(a), seq);
  }
  voided_.assign(voided.begin(), voided.end());
  std::sort(voided_.begin(), voided_.end());
  for (auto& [seq, doc] : merged.rulesets) {
    if (!voided.count(seq)) rulesets_.push_back(std::move(doc));
  }
}

// Phase 4: each beneficiary's events (counted, then placed), in seq order; a group session once
// per participant, however often the participant is listed.
Status PackedHistory::ListEvents(size_t beneficiaries) {
  const PackedCare* care = care_.get();
  std::vector<uint32_t> count(beneficiaries + 1, 0);
  auto for_each_subject = [&](uint32_t i, auto&& fn) {
    const PackedCare& c = care[i];
    if (c.voided()) return;
    if (c.kind == CareKind::kIndividual || c.kind == CareKind::kException) return fn(c.who);
    ForEachBeneficiary(details_[c.who], fn);
  };
  if (care_size_ >= UINT32_MAX) {
    return Error{ErrorCode::kInvalidArgument, "a replay folds at most 2^32 - 1 care events"};
  }
  std::vector<uint32_t> last(beneficiaries, UINT32_MAX);  // the last event counted
  for (uint32_t i = 0; i < care_size_; ++i) {
    for_each_subject(i, [&](uint32_t who) {
      if (last[who] == i) return;
      last[who] = i;
      ++count[who + 1];
    });
  }
  last = {};
  for (size_t b = 0; b < beneficiaries; ++b) count[b + 1] += count[b];
  refs_.resize(count[beneficiaries]);
  first_ref_ = count;
  for (uint32_t i = 0; i < care_size_; ++i) {
    for_each_subject(i, [&](uint32_t who) {
      uint32_t& at = count[who];
      if (at > first_ref_[who] && refs_[at - 1] == i) return;
      refs_[at++] = i;
    });
  }
  return Ok();
}

Result<PackedHistory> PackedHistory::Load(const EventLog& log, int threads,
                                          const std::function<void(Seq, Seq)>& progress) {
  PackedHistory h;
  const Seq head = log.head().seq;
  if (head >= UINT32_MAX) {
    return Error{ErrorCode::kInvalidArgument, "a replay reads at most 2^32 - 1 events"};
  }
  // One record per event at most, each part writing where its range starts; pages never
  // written are never touched.
  h.care_ = std::make_unique_for_overwrite<PackedCare[]>(std::max<Seq>(head, 1));
  std::vector<Part> parts(static_cast<size_t>(std::clamp<int64_t>(threads, 1, 64)));
  if (Status s = h.ReadParts(log, head, progress, &parts); !s) return s.error();
  h.MergeParts(parts);
  h.ApplyVoids(parts[0]);
  if (Status s = h.ListEvents(parts[0].beneficiaries.size()); !s) return s.error();
  return h;
}

void PackedHistory::Unpack(const PackedCare& p, CareEvent* out) {
  CareEvent& c = *out;
  c.seq = p.seq;
  c.day = p.day;
  c.kind = p.kind;
  c.network = p.network;
  c.provider = p.provider;
  c.function = p.flags & PackedCare::kTreatment ? CareFunction::kTreatment : CareFunction::kSupport;
  c.school_cpms = (p.flags & PackedCare::kSchoolCpms) != 0;
  c.with_context = (p.flags & PackedCare::kWithContext) != 0;
  c.beneficiary = Person{p.who, p.birth, (p.flags & PackedCare::kBim) != 0};
}

std::unique_ptr<RulesetCatalog> PackedHistory::Rulesets(const RulesetCatalog& base) const {
  auto rules = std::make_unique<RulesetCatalog>(base);
  for (const std::string& document : rulesets_) {
    // Validated at publish; a document that no longer parses is not applied (as RulesetsOf).
    if (auto rs = ParseRulesetText(document)) rules->Add(std::move(rs).value());
  }
  return rules;
}

FoldContext PackedHistory::Context(const RulesetCatalog* rules) const {
  FoldContext ctx(rules);
  for (NetworkIdx n = 0; n < population_.size(); ++n) ctx.SetPopulation(n, population_[n]);
  std::map<std::pair<ProviderIdx, NetworkIdx>, std::vector<EnrolmentEvent>> enrolments;
  for (const auto& [key, e] : enrolments_) enrolments[key].push_back(e);
  for (auto& [key, events] : enrolments)
    ctx.SetEnrolments(key.first, key.second, std::move(events));
  for (const auto& [who, network, day] : assessments_) ctx.AddAssessment(who, network, day);
  return ctx;
}

}  // namespace ledger
