#include "replay/operations.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "ledger/sha256.h"
#include "projections/fold_input.h"
#include "projections/projector.h"
#include "replay/explain.h"
#include "replay/invoices.h"
#include "replay/regularisations.h"
#include "replay/store_invoices.h"
#include "schemas/invariant.h"
#include "schemas/json_codec.h"

namespace ledger {
namespace json = boost::json;

Result<History> LoadHistory(const EventLog& log, Seq as_of, const ReadProgress& progress) {
  History h;
  const Seq to = std::min(as_of, log.head().seq);
  Status s = log.ReadRange(1, to, [&](const StoredEventView& v) {
    h.Add(v);
    if (progress && (v.seq() & 8191) == 0) progress(v.seq(), to);
    return true;
  });
  if (!s) return s.error();
  h.Seal();
  return h;
}

namespace {

// Both cores: the fold of beneficiaries is split over two threads.
constexpr int kFoldThreads = 2;

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

// `ruleset-<id>-v<version>`; a digest of the id when it cannot be part of an event id.
std::string PublishEventId(const Ruleset& rs) {
  const std::string tail = "-v" + std::to_string(rs.version);
  std::string who = rs.id;
  if (!std::all_of(who.begin(), who.end(), IsIdChar) || 8 + who.size() + tail.size() > 64) {
    who = ToHex(Sha256::Of(rs.id)).substr(0, 16);
  }
  return "ruleset-" + who + tail;
}

// The rulesets in force from the `rules` stream only (publications and their voids) up to
// `as_of`, and how many of the stream's events that is.
Result<std::pair<std::unique_ptr<RulesetCatalog>, uint64_t>> RulesInForce(const EventLog& log,
                                                                          Seq as_of) {
  auto seqs = log.StreamSeqs("rules");
  if (!seqs) return seqs.error();
  std::erase_if(*seqs, [&](Seq s) { return s > as_of; });
  History rules;
  Status s = log.ReadSeqs(*seqs, [&](const StoredEventView& v) { rules.Add(v); });
  if (!s) return s.error();
  rules.Seal();
  return std::pair(RulesetsOf(rules, RulesetCatalog()), static_cast<uint64_t>(seqs->size()));
}

}  // namespace

Result<std::unique_ptr<RulesetCatalog>> RulesetsAt(const EventLog& log, Seq as_of) {
  auto rules = RulesInForce(log, as_of);
  if (!rules) return rules.error();
  return std::move(rules->first);
}

Result<json::object> PublishRuleset(EventLog& log, const json::value& document,
                                    std::string_view reason, CivilDay today) {
  auto rs = ParseRuleset(document);
  if (!rs) return rs.error();
  if (reason.empty()) {
    return Error{ErrorCode::kInvalidArgument, "a reason is required (--reason TEXT)"};
  }
  auto rules = RulesInForce(log, log.head().seq);
  if (!rules) return rules.error();
  const auto& [in_force, stream_version] = *rules;
  auto standing = CheckCandidate(*in_force, *rs);
  if (!standing) return standing.error();
  if (*standing == CandidateStanding::kInForce) {
    return Error{ErrorCode::kConflict, rs->Label() + " is already in force", -1, "", "version"};
  }
  const Ruleset* current = in_force->Find(rs->id);
  json::object e;
  e["id"] = PublishEventId(*rs);
  e["type"] = "ruleset.published";
  // An event may not be dated after the day it is recorded.
  e["occurred_on"] = FormatDay(std::min(rs->valid_from, today));
  e["ruleset"] = document;
  e["reason"] = reason;
  auto decoded = DecodeEventValue(e, 0, today);
  if (!decoded) return decoded.error();
  decoded->expected_version = static_cast<int64_t>(stream_version);
  std::vector<DecodedEvent> batch;
  batch.push_back(std::move(decoded).value());
  auto appended = log.AppendAll(batch);
  if (!appended) {
    Error err = appended.error();
    if (err.field == "expected_version") {
      err.message = "another ruleset event was appended meanwhile; nothing stored, publish again";
    }
    return err;
  }
  const AppendedEvent& r = appended->results.at(0);
  if (r.status == AppendStatus::kDuplicate) {
    // Only possible for a publication that was voided since: its id stays taken.
    return Error{ErrorCode::kConflict,
                 rs->Label() + " was published before (event " + r.id + ", seq " +
                     std::to_string(r.seq) + "); publish it as a higher version",
                 -1, "", "version"};
  }
  json::object out;
  out["published"] = rs->Label();
  out["supersedes"] = current ? json::value(current->Label()) : json::value(nullptr);
  out["id"] = r.id;
  out["seq"] = r.seq;
  out["occurred_on"] = e["occurred_on"];
  return out;
}

Result<ReplayReport> ReplayRuleset(const EventLog& log, const json::value& document,
                                   std::optional<CivilDay> from, const ReadProgress& progress) {
  auto candidate = ParseRuleset(document);
  if (!candidate) return candidate.error();
  // The packed history, read by both cores: a replay needs no event id nor whole CareEvent.
  auto h = PackedHistory::Load(log, kFoldThreads, progress);
  if (!h) return h.error();
  return ReplayPacked(*h, RulesetCatalog(), *candidate, from, kFoldThreads);
}

namespace {

Amounts AmountsOf(int64_t fee, int64_t copay, int64_t insurer) {
  return Amounts{Cents{fee}, Cents{copay}, Cents{insurer}};
}

// The answer from the events as appended: typed Cap'n Proto, never JSON read back.
CloseAnswer CloseAnswerOf(int32_t month, const AppendResult& appended,
                          const std::vector<DecodedEvent>& events) {
  CloseAnswer out{month, appended.appended, appended.last_seq, {}, {}, {}};
  for (const DecodedEvent& e : events) {
    LEDGER_ASSERT(e.event().getBody().isInvoiceIssued());
    auto b = e.event().getBody().getInvoiceIssued();
    ClosedInvoice inv;
    inv.id = e.event().getId().cStr();
    inv.provider_id = b.getProviderId().cStr();
    inv.ruleset =
        std::string(b.getRulesetId().cStr()) + "@" + std::to_string(b.getRulesetVersion());
    inv.amounts = AmountsOf(b.getFeeCents(), b.getCopayCents(), b.getInsurerCents());
    LEDGER_ASSERT(inv.amounts.fee == inv.amounts.copay + inv.amounts.insurer);  // conservation
    inv.lines = b.getLines();
    for (auto g : b.getRegularisations()) {
      inv.regularisations.push_back(
          {g.getMonth(), AmountsOf(g.getFeeCents(), g.getCopayCents(), g.getInsurerCents())});
      out.regularised += inv.regularisations.back().due;
    }
    out.totals += inv.amounts;
    out.invoices.push_back(std::move(inv));
  }
  return out;
}

}  // namespace

json::object CloseAnswerJson(const CloseAnswer& a) {
  json::array invoices;
  for (const ClosedInvoice& inv : a.invoices) {
    json::object o{{"id", inv.id},
                   {"provider_id", inv.provider_id},
                   {"ruleset", inv.ruleset},
                   {"fee_cents", inv.amounts.fee.value},
                   {"copay_cents", inv.amounts.copay.value},
                   {"insurer_cents", inv.amounts.insurer.value},
                   {"lines", inv.lines}};
    if (!inv.regularisations.empty()) {
      json::array regs;
      for (const auto& g : inv.regularisations) {
        regs.emplace_back(json::object{{"month", FormatMonth(g.month)},
                                       {"fee_cents", g.due.fee.value},
                                       {"copay_cents", g.due.copay.value},
                                       {"insurer_cents", g.due.insurer.value}});
      }
      o["regularisations"] = std::move(regs);
    }
    invoices.push_back(std::move(o));
  }
  json::object out;
  out["month"] = FormatMonth(a.month);
  out["appended"] = a.appended;
  out["last_seq"] = a.last_seq;
  out["invoices"] = std::move(invoices);
  out["totals"] = AmountsJson(a.totals);
  out["regularisations_totals"] = AmountsJson(a.regularised);
  return out;
}

Result<CloseAnswer> CloseMonth(EventLog& log, int32_t month, CivilDay today,
                               const ReadProgress& progress) {
  // Optimistic twice, then holding the append lock while the invoices are computed.
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::unique_ptr<EventLog::Append> append;
    if (attempt == 2) append = log.BeginAppend();
    const Seq head = log.head().seq;
    auto h = LoadHistory(log, head, progress);
    if (!h) return h.error();
    const Projection p = Project(*h, RulesetCatalog(), kFoldThreads);
    auto events = CloseMonthEvents(*h, p, month, today);
    if (!events) return events.error();
    if (!append) append = log.BeginAppend();
    if (append->next_seq() != head + 1) continue;  // the ledger moved: compute again
    std::vector<DecodedEvent> decoded;
    for (size_t i = 0; i < events->size(); ++i) {
      auto e = DecodeEventValue((*events)[i], static_cast<int64_t>(i), today);
      if (!e) return e.error();
      if (Status s = append->Add(*e); !s) return s.error();
      decoded.push_back(std::move(e).value());
    }
    auto appended = append->Commit();
    if (!appended) return appended.error();
    if (appended->duplicates > 0) {
      return Error{ErrorCode::kConflict, FormatMonth(month) + " was closed meanwhile"};
    }
    return CloseAnswerOf(month, *appended, decoded);
  }
  return Error{ErrorCode::kConflict, "the ledger kept moving; nothing stored, close again"};
}

Result<json::object> RegularisationsAt(const EventLog& log, std::optional<int32_t> month,
                                       std::optional<std::string_view> provider, Seq as_of,
                                       const ReadProgress& progress,
                                       const std::set<std::string>* only) {
  auto h = LoadHistory(log, as_of, progress);
  if (!h) return h.error();
  if (provider && !h->providers.Find(*provider)) {
    return Error{ErrorCode::kNotFound, "no provider " + std::string(*provider)};
  }
  const Projection p = Project(*h, RulesetCatalog(), kFoldThreads);
  auto report = Regularisations(MemoryInvoices(*h, p), month, provider, only);
  if (!report) return report.error();
  return RegularisationReportJson(*report);
}

Result<json::object> RegularisationsOfStore(const EventLog& log, const ProjectionView& view,
                                            Seq seq, std::optional<int32_t> month,
                                            std::optional<std::string_view> provider,
                                            const std::set<std::string>* only) {
  if (provider) {
    auto known = view.ProviderKnown(*provider);
    if (!known) return known.error();
    if (!*known) return Error{ErrorCode::kNotFound, "no provider " + std::string(*provider)};
  }
  auto report = Regularisations(StoreInvoices(log, view, seq), month, provider, only);
  if (!report) return report.error();
  return RegularisationReportJson(*report);
}

Result<json::object> ExplainEventId(const EventLog& log, std::string_view event_id, Seq as_of,
                                    const ReadProgress& progress) {
  auto found = log.FindId(event_id);
  if (!found) return found.error();
  as_of = std::min(as_of, log.head().seq);
  if (!found->has_value() || **found > as_of) {
    return Error{ErrorCode::kNotFound,
                 "no event with id " + std::string(event_id) +
                     (found->has_value() ? " up to seq " + std::to_string(as_of) : "")};
  }
  const Seq seq = **found;
  const char* type = "";
  bool care = false;
  Status s = log.ReadRange(seq, seq, [&](const StoredEventView& v) {
    type = EventTypeName(v.event().getBody().which());
    care = FoldInputOf(v.event().getBody().which()) == FoldInput::kCare;
    return false;
  });
  if (!s) return s.error();
  if (!care) {
    return Error{ErrorCode::kInvalidArgument,
                 "event " + std::string(event_id) + " has type " + type +
                     "; explain covers sessions, group sessions, community interventions, "
                     "support missions, concertations and exceptions"};
  }
  auto h = LoadHistory(log, as_of, progress);
  if (!h) return h.error();
  const Projection p = Project(*h, RulesetCatalog(), kFoldThreads);
  return ExplainEvent(*h, p, seq);
}

Result<std::string> ExportMonth(const EventLog& log, int32_t month, ExportFormat format, Seq as_of,
                                const ReadProgress& progress) {
  auto h = LoadHistory(log, as_of, progress);
  if (!h) return h.error();
  const Projection p = Project(*h, RulesetCatalog(), kFoldThreads);
  if (format == ExportFormat::kCsv) return ExportCsv(*h, p, month);
  return json::serialize(ExportJson(*h, p, month)) + "\n";
}

}  // namespace ledger
