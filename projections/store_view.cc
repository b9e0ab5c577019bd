// ProjectionView: the reads of the projection store (store.h), at one snapshot or not.
#include <rocksdb/db.h>

#include <algorithm>

#include "ledger/bytes.h"
#include "projections/store.h"
#include "projections/store_keys.h"

namespace ledger {
using namespace store_keys;  // NOLINT: this file reads the keys

namespace {

Error Corrupt(const std::string& what) {
  return Error{ErrorCode::kCorruption, "projection store: " + what};
}
Error Storage(const rocksdb::Status& s) { return Error{ErrorCode::kStorage, s.ToString()}; }

}  // namespace

ProjectionView::ProjectionView(const ProjectionStore& store, bool snapshot)
    : store_(&store), cf_(store.log_.derived()) {
  // The column family first: should a packed rebuild replace it now, this one is left as it is
  // (not emptied while this view holds it), and a snapshot taken after is of it as it was.
  if (snapshot) snapshot_ = store.TakeSnapshot();
}

ProjectionView::~ProjectionView() = default;

ProjectionView::ProjectionView(ProjectionView&& other) noexcept
    : store_(other.store_), cf_(std::move(other.cf_)), snapshot_(std::move(other.snapshot_)) {}

Status ProjectionView::Scan(
    const std::string& prefix,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_.get();
  std::unique_ptr<rocksdb::Iterator> it(store_->db_->NewIterator(options, cf_.get()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (!fn(it->key().ToStringView(), it->value().ToStringView())) break;
  }
  if (!it->status().ok()) return Storage(it->status());
  return Ok();
}

Result<std::optional<std::string>> ProjectionView::Get(const std::string& key) const {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_.get();
  std::string v;
  rocksdb::Status s = store_->db_->Get(options, cf_.get(), key, &v);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return Storage(s);
  return std::optional<std::string>(std::move(v));
}

Result<Seq> ProjectionView::seq() const {
  auto format = Get(std::string(kFormatKey));
  if (!format) return format.error();
  auto seq = Get(std::string(kSeqKey));
  if (!seq) return seq.error();
  if (!seq->has_value()) return Seq{0};
  if (!format->has_value() || format->value().size() != 8 ||
      GetBE64(format->value().data()) != kStoreFormat) {
    return Seq{0};  // an earlier layout: rebuilt by the next catch-up
  }
  if ((*seq)->size() != 8) return Corrupt("bad seq record");
  return GetBE64((*seq)->data());
}

Status ProjectionView::ForEachLine(std::string_view provider, int32_t month,
                                   const std::function<bool(const LineRecord&)>& fn) const {
  bool bad = false;
  Status s = Scan(LinePrefix(provider, month), [&](std::string_view, std::string_view v) {
    LineRecord line;
    bad = !DecodeLine(v, &line);
    return !bad && fn(line);
  });
  if (!s) return s;
  if (bad) return Corrupt("bad line record");
  return Ok();
}

Result<std::vector<LineRecord>> ProjectionView::Lines(std::string_view provider,
                                                      int32_t month) const {
  std::vector<LineRecord> out;
  Status s = ForEachLine(provider, month, [&](const LineRecord& l) {
    out.push_back(l);
    return true;
  });
  if (!s) return s.error();
  return out;
}

Result<std::vector<TrajectoryRecord>> ProjectionView::Trajectories(std::string_view niss) const {
  std::vector<TrajectoryRecord> out;
  bool bad = false;
  Status s = Scan(Prefixed('T', niss), [&](std::string_view, std::string_view v) {
    out.emplace_back();
    bad = !DecodeTrajectory(v, &out.back());
    return !bad;
  });
  if (!s) return s.error();
  if (bad) return Corrupt("bad trajectory record");
  return out;
}

Result<bool> ProjectionView::BeneficiaryKnown(std::string_view niss) const {
  bool found = false;
  Status s = Scan(Prefixed('b', niss), [&](std::string_view, std::string_view) {
    found = true;
    return false;
  });
  if (!s) return s.error();
  return found;
}

Status ProjectionView::ForEachTrajectory(
    const std::function<void(std::string_view, const TrajectoryRecord&)>& fn) const {
  bool bad = false;
  Status s = Scan("T", [&](std::string_view k, std::string_view v) {
    TrajectoryRecord r;
    bad = !DecodeTrajectory(v, &r);
    if (!bad) fn(k.substr(1, k.find('\0') - 1), r);
    return !bad;
  });
  if (!s) return s;
  if (bad) return Corrupt("bad trajectory record");
  return Ok();
}

Result<Cents> ProjectionView::Allocated(std::string_view network, int32_t year) const {
  auto v = Get(BudgetKey(network, year));
  if (!v) return v.error();
  if (!v->has_value()) return Cents{0};
  if ((*v)->size() != 8) return Corrupt("bad budget record");
  return Cents{static_cast<int64_t>(GetBE64((*v)->data()))};
}

Result<std::map<CivilDay, Cents>> ProjectionView::DailyConsumed(std::string_view network,
                                                                int32_t year) const {
  std::map<CivilDay, Cents> out;
  const std::string prefix = Prefixed('D', network);
  const CivilDay jan1 = ToDay({year, 1, 1}), dec31 = ToDay({year, 12, 31});
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_.get();
  std::unique_ptr<rocksdb::Iterator> it(store_->db_->NewIterator(options, cf_.get()));
  for (it->Seek(DailyKey(network, jan1)); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    const CivilDay day = GetOrdered32(it->key().data() + prefix.size());
    if (day > dec31) break;
    if (it->value().size() != 16) return Corrupt("bad daily record");
    out[day] = Cents{static_cast<int64_t>(GetBE64(it->value().data() + 8))};
  }
  if (!it->status().ok()) return Storage(it->status());
  return out;
}

Result<std::unique_ptr<RulesetCatalog>> ProjectionView::Rulesets() const {
  auto at = seq();
  if (!at) return at.error();
  auto seqs = store_->log_.StreamSeqs("rules");
  if (!seqs) return seqs.error();
  std::vector<Seq> upto;
  for (Seq q : *seqs) {
    if (q > *at) continue;
    auto voided = Get(SeqKey('v', q));
    if (!voided) return voided.error();
    if (!voided->has_value()) upto.push_back(q);
  }
  History h;
  Status s = store_->log_.ReadSeqs(upto, [&](const StoredEventView& v) { h.Add(v); });
  if (!s) return s.error();
  return RulesetsOf(h, RulesetCatalog());
}

Result<std::vector<NetworkRecord>> ProjectionView::Networks() const {
  std::vector<NetworkRecord> out;
  bool bad = false;
  Status s = Scan("N", [&](std::string_view, std::string_view v) {
    out.emplace_back();
    bad = !DecodeNetwork(v, &out.back());
    return !bad;
  });
  if (!s) return s.error();
  if (bad) return Corrupt("bad network record");
  return out;
}

Result<std::optional<NetworkRecord>> ProjectionView::Network(std::string_view network) const {
  auto v = Get(NetworkKey(network));
  if (!v) return v.error();
  if (!v->has_value()) return std::optional<NetworkRecord>();
  NetworkRecord r;
  if (!DecodeNetwork(**v, &r)) return Corrupt("bad network record");
  return std::optional<NetworkRecord>(std::move(r));
}

Result<std::vector<EnrolmentRecord>> ProjectionView::Enrolments(std::string_view network) const {
  std::vector<EnrolmentRecord> out;
  const std::string prefix = Prefixed('E', network);
  bool bad = false;
  Status s = Scan(prefix, [&](std::string_view k, std::string_view v) {
    std::vector<EnrolmentPeriod> periods;
    bad = k.size() < prefix.size() + 1 || k.back() != '\0' || !DecodePeriods(v, &periods);
    if (bad) return false;
    const std::string provider(k.substr(prefix.size(), k.size() - prefix.size() - 1));
    for (const EnrolmentPeriod& p : periods) {
      out.push_back({provider, std::string(network), p.profession, p.from, p.to});
    }
    return true;
  });
  if (!s) return s.error();
  if (bad) return Corrupt("bad enrolment record");
  return out;
}

Result<std::vector<std::string>> ProjectionView::ProviderNetworks(std::string_view provider) const {
  std::vector<std::string> out;
  const std::string prefix = Prefixed('e', provider);
  Status s = Scan(prefix, [&](std::string_view k, std::string_view) {
    out.emplace_back(k.substr(prefix.size(), k.size() - prefix.size() - 1));
    return true;
  });
  if (!s) return s.error();
  return out;
}

Result<bool> ProjectionView::ProviderKnown(std::string_view provider) const {
  bool found = false;
  auto seen = [&](std::string_view, std::string_view) {
    found = true;
    return false;
  };
  if (Status s = Scan(Prefixed('e', provider), seen); !s) return s.error();
  if (found) return true;
  if (Status s = Scan(Prefixed('L', provider), seen); !s) return s.error();
  return found;
}

Result<std::vector<std::pair<std::string, LineTally>>> ProjectionView::NetworkMonth(
    std::string_view network, int32_t month) const {
  std::vector<std::pair<std::string, LineTally>> out;
  std::string prefix = TallyPrefix(month);
  prefix.append(network);
  prefix.push_back('\0');
  bool bad = false;
  Status s = Scan(prefix, [&](std::string_view k, std::string_view v) {
    LineTally t;
    bad = !DecodeTally(v, &t);
    if (!bad) out.emplace_back(std::string(k.substr(prefix.size())), t);
    return !bad;
  });
  if (!s) return s.error();
  if (bad) return Corrupt("bad tally record");
  return out;
}

Result<std::optional<LineTally>> ProjectionView::Tally(int32_t month, std::string_view network,
                                                       std::string_view provider) const {
  auto v = Get(TallyKey(month, network, provider));
  if (!v) return v.error();
  if (!v->has_value()) return std::optional<LineTally>();
  LineTally t;
  if (!DecodeTally(**v, &t)) return Corrupt("bad tally record");
  return std::optional<LineTally>(t);
}

Result<std::vector<std::string>> ProjectionView::MonthProviders(int32_t month,
                                                                std::string_view after,
                                                                size_t limit) const {
  // Tallies are by network, then provider: gather the month's provider ids, then sort.
  std::vector<std::string> all;
  const std::string prefix = TallyPrefix(month);
  Status s = Scan(prefix, [&](std::string_view k, std::string_view) {
    const size_t zero = k.find('\0', prefix.size());
    if (zero != std::string_view::npos) {
      std::string_view provider = k.substr(zero + 1);
      if (provider > after) all.emplace_back(provider);
    }
    return true;
  });
  if (!s) return s.error();
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  if (limit > 0 && all.size() > limit) all.resize(limit);
  return all;
}

Result<std::vector<Seq>> ProjectionView::LiveInvoiceSeqs() const {
  std::vector<Seq> issued;
  Status s = Scan("I", [&](std::string_view k, std::string_view) {
    if (k.size() == 9) issued.push_back(GetBE64(k.data() + 1));
    return true;
  });
  if (!s) return s.error();
  std::vector<Seq> out;
  for (Seq q : issued) {
    auto voided = Get(SeqKey('v', q));
    if (!voided) return voided.error();
    if (!voided->has_value()) out.push_back(q);
  }
  return out;
}

}  // namespace ledger
