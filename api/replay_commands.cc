#include "api/replay_commands.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

#include "api/cli.h"
#include "api/progress.h"
#include "api/queries.h"
#include "projections/fold_input.h"
#include "projections/projector.h"
#include "projections/store.h"
#include "replay/explain.h"
#include "replay/invoices.h"
#include "replay/regularisations.h"
#include "replay/store_invoices.h"
#include "schemas/json_codec.h"

namespace ledger {
namespace json = boost::json;

// --- operations ------------------------------------------------------------------------------

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

json::object CloseAnswer(int32_t month, const AppendResult& appended,
                         const std::vector<json::object>& events) {
  json::array invoices;
  Amounts totals, regularised;
  for (const json::object& e : events) {
    const json::object& rs = e.at("ruleset").as_object();
    totals += Amounts{Cents{e.at("fee_cents").as_int64()}, Cents{e.at("copay_cents").as_int64()},
                      Cents{e.at("insurer_cents").as_int64()}};
    invoices.push_back(json::object{{"id", e.at("id")},
                                    {"provider_id", e.at("provider_id")},
                                    {"ruleset", std::string(rs.at("id").as_string()) + "@" +
                                                    std::to_string(rs.at("version").as_int64())},
                                    {"fee_cents", e.at("fee_cents")},
                                    {"copay_cents", e.at("copay_cents")},
                                    {"insurer_cents", e.at("insurer_cents")},
                                    {"lines", e.at("lines")}});
    if (const json::value* regs = e.if_contains("regularisations")) {
      invoices.back().as_object()["regularisations"] = *regs;
      for (const json::value& g : regs->as_array()) {
        regularised +=
            Amounts{Cents{g.at("fee_cents").as_int64()}, Cents{g.at("copay_cents").as_int64()},
                    Cents{g.at("insurer_cents").as_int64()}};
      }
    }
  }
  json::object out;
  out["month"] = FormatMonth(month);
  out["appended"] = appended.appended;
  out["last_seq"] = appended.last_seq;
  out["invoices"] = std::move(invoices);
  out["totals"] = AmountsJson(totals);
  out["regularisations_totals"] = AmountsJson(regularised);
  return out;
}

}  // namespace

Result<json::object> CloseMonth(EventLog& log, int32_t month, CivilDay today,
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
    for (size_t i = 0; i < events->size(); ++i) {
      auto decoded = DecodeEventValue((*events)[i], static_cast<int64_t>(i), today);
      if (!decoded) return decoded.error();
      if (Status s = append->Add(*decoded); !s) return s.error();
    }
    auto appended = append->Commit();
    if (!appended) return appended.error();
    if (appended->duplicates > 0) {
      return Error{ErrorCode::kConflict, FormatMonth(month) + " was closed meanwhile"};
    }
    return CloseAnswer(month, *appended, *events);
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

json::object VerifyJson(const VerifyReport& report) {
  json::object out;
  out["ok"] = report.ok;
  out["events"] = report.events;
  if (report.ok) {
    out["head"] = ToHex(report.head);
  } else {
    out["first_bad_seq"] = report.first_bad_seq;
    out["problem"] = report.problem;
  }
  return out;
}

json::object CheckpointJson(const EventLog& log) {
  const Head head = log.head();
  return json::object{{"seq", head.seq}, {"head", ToHex(head.hash)}};
}

Result<Checkpoint> ParseCheckpoint(std::string_view text) {
  const Error bad{ErrorCode::kInvalidArgument,
                  "--expect must be SEQ:HASH, as printed by `ledgerctl checkpoint` (seq and head)"};
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 19) return bad;
  Checkpoint c;
  for (char ch : text.substr(0, colon)) {
    if (ch < '0' || ch > '9') return bad;
    c.seq = c.seq * 10 + static_cast<Seq>(ch - '0');
  }
  auto hash = HashFromHex(text.substr(colon + 1));
  if (!hash || c.seq == 0) return bad;
  c.hash = *hash;
  return c;
}

Result<json::object> CheckCheckpoint(const EventLog& log, const Checkpoint& c) {
  json::object out{{"seq", c.seq}, {"hash", ToHex(c.hash)}};
  const Seq head = log.head().seq;
  if (c.seq > head) {
    out["ok"] = false;
    out["problem"] = "the ledger ends at seq " + std::to_string(head) +
                     ", before the checkpoint's seq " + std::to_string(c.seq) +
                     ": events were removed, or the checkpoint is of another ledger";
    return out;
  }
  Hash found{};
  Status s = log.ReadRange(c.seq, c.seq, [&](const StoredEventView& v) {
    found = v.hash();
    return false;
  });
  if (!s) return s.error();
  out["ok"] = found == c.hash;
  if (found != c.hash) {
    out["found"] = ToHex(found);
    out["problem"] = "the event at seq " + std::to_string(c.seq) +
                     " no longer has the checkpoint's hash: history up to it was rewritten";
  }
  return out;
}

Result<std::optional<Checkpoint>> ExpectFlag(const Flags& f) {
  const std::optional<std::string> text = f.Get("expect");
  if (!text) return std::optional<Checkpoint>();
  auto c = ParseCheckpoint(*text);
  if (!c) return c.error();
  return std::optional<Checkpoint>(*c);
}

// --- the command line ------------------------------------------------------------------------

namespace {

Result<std::string> RequiredFlag(const Flags& f, const char* name) {
  auto v = f.Get(name);
  if (!v || v->empty()) {
    return Error{ErrorCode::kInvalidArgument, std::string("--") + name + " is required"};
  }
  return *v;
}

Result<std::optional<int32_t>> MonthFlag(const Flags& f, bool required) {
  const std::optional<std::string> text = f.Get("month");
  if (!text && !required) return std::optional<int32_t>();
  auto month = text ? ParseMonth(*text) : std::nullopt;
  if (!month) return Error{ErrorCode::kInvalidArgument, "--month must be YYYY-MM"};
  return std::optional<int32_t>(*month);
}

Result<std::optional<CivilDay>> DateFlag(const Flags& f, const char* name) {
  const std::optional<std::string> text = f.Get(name);
  if (!text) return std::optional<CivilDay>();
  auto date = ParseDate(*text);
  if (!date) {
    return Error{ErrorCode::kInvalidArgument,
                 std::string("--") + name + " must be a real date YYYY-MM-DD"};
  }
  return std::optional<CivilDay>(ToDay(*date));
}

// A ruleset document from FILE (or - for stdin).
Result<json::value> ReadJsonFile(const std::string& path) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return Error{ErrorCode::kInvalidArgument, "cannot open " + path};
    in = &file;
  }
  std::string text((std::istreambuf_iterator<char>(*in)), std::istreambuf_iterator<char>());
  if (text.size() > kEventJsonBytesMax) {
    return Error{ErrorCode::kInvalidArgument, path + ": larger than a ruleset may be"};
  }
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Error{ErrorCode::kInvalidArgument, path + ": malformed JSON: " + ec.message()};
  if (auto dup = FindDuplicateKey(text)) {
    return Error{ErrorCode::kInvalidArgument, path + ": a field given twice in one object", -1, "",
                 dup->path};
  }
  return v;
}

// Brings the persisted projections up to the head after a write, as `append` does; a failure
// loses nothing (the next query catches up).
void CatchUpProjections(const EventLog& log) {
  ProjectionStore store(log);
  Progress progress("updating projections", log.head().seq);
  if (Status s = store.CatchUp([&](Seq d, Seq) { progress.Update(d); }); !s) {
    std::fprintf(stderr, "ledgerctl: warning: events stored, projections not updated: %s\n",
                 s.error().ToString().c_str());
  }
}

int RunPublish(const Flags& f) {
  if (f.positional().size() != 2) {
    return Report(
        {ErrorCode::kInvalidArgument, "usage: ledgerctl rules publish FILE --reason TEXT"});
  }
  if (f.Has("as-of") || f.Has("as-of-time")) {
    return Report({ErrorCode::kInvalidArgument, "rules publish appends at the head: no --as-of"});
  }
  auto reason = RequiredFlag(f, "reason");
  if (!reason) return Report(reason.error());
  auto document = ReadJsonFile(f.positional()[1]);
  if (!document) return Report(document.error());
  auto log = OpenLog(f);
  if (!log) return Report(log.error());
  auto out = PublishRuleset(**log, *document, *reason, DayOfTimestampUs(NowUs()));
  if (!out) return Report(out.error(), "nothing stored: ");
  if (!f.Has("defer-projections")) CatchUpProjections(**log);
  PrintJson(*out);
  return 0;
}

// Reading progress for the operations above, drawn by `p`.
ReadProgress Drawn(Progress& p) {
  return [&p](Seq done, Seq total) {
    p.set_total(total);
    p.Update(done);
  };
}

}  // namespace

int RunRulesCommand(const Flags& f) {
  const auto& args = f.positional();
  if (!args.empty() && args[0] == "publish") return RunPublish(f);
  if (f.Has("reason") || f.Has("defer-projections")) {
    return Report({ErrorCode::kInvalidArgument,
                   "--reason and --defer-projections belong to `rules publish`"});
  }
  return RunRules(f);
}

int RunReplay(const Flags& f) {
  if (!f.positional().empty()) {
    return Report({ErrorCode::kInvalidArgument, "replay takes no positional argument"});
  }
  auto path = RequiredFlag(f, "rules");
  if (!path) return Report(path.error());
  auto from = DateFlag(f, "from");
  if (!from) return Report(from.error());
  const std::string format = f.GetOr("format", "json");
  if (format != "json" && format != "text") {
    return Report({ErrorCode::kInvalidArgument, "--format must be json or text"});
  }
  auto document = ReadJsonFile(*path);
  if (!document) return Report(document.error());
  auto log = OpenLog(f, LogAccess::kRead);
  if (!log) return Report(log.error());
  Progress reading("replay: reading history", (*log)->head().seq);
  auto report = ReplayRuleset(**log, *document, *from, Drawn(reading));
  reading.Done();
  if (!report) return Report(report.error());
  if (format == "text") {
    const std::string text = ReplayReportText(*report);
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    // As PrintJson(ReplayReportJson(*report)) prints it, without the value tree.
    std::string text = ReplayReportJsonText(*report);
    text.push_back('\n');
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  return 0;
}

int RunClose(const Flags& f) {
  auto month = MonthFlag(f, /*required=*/true);
  if (!month) return Report(month.error());
  auto log = OpenLog(f);
  if (!log) return Report(log.error());
  Progress progress("close: reading history", (*log)->head().seq);
  auto out = CloseMonth(**log, **month, DayOfTimestampUs(NowUs()), Drawn(progress));
  progress.Done();
  if (!out) return Report(out.error(), "nothing stored: ");
  CatchUpProjections(**log);
  PrintJson(*out);
  return 0;
}

int RunRegularisations(const Flags& f) {
  auto month = MonthFlag(f, /*required=*/false);
  if (!month) return Report(month.error());
  auto log = OpenLog(f, LogAccess::kQuery);
  if (!log) return Report(log.error());
  auto as_of = AsOfSeq(f, **log);
  if (!as_of) return Report(as_of.error());
  const std::optional<std::string> provider_flag = f.Get("provider");
  std::optional<std::string_view> provider;
  if (provider_flag) provider = *provider_flag;
  // At the head: from the persisted projections, brought up to date (beside a running ledgerd,
  // when they reflect the head); else the history up to as_of is folded.
  const Seq head = (*log)->head().seq;
  ProjectionStore store(**log);
  bool from_store = *as_of == head;
  if (from_store && (*log)->read_only()) {
    auto projected = store.seq();
    if (!projected) return Report(projected.error());
    from_store = *projected == head;
  } else if (from_store) {
    Progress catch_up("updating projections", head);
    if (Status s = store.CatchUp([&](Seq d, Seq) { catch_up.Update(d); }); !s) {
      return Report(s.error());
    }
  }
  Result<json::object> out = json::object();
  if (from_store) {
    const ProjectionView view = store.View();
    out = RegularisationsOfStore(**log, view, head, *month, provider);
  } else {
    Progress progress("regularisations: reading history", *as_of);
    out = RegularisationsAt(**log, *month, provider, *as_of, Drawn(progress));
    progress.Done();
  }
  if (!out) return Report(out.error());
  PrintJson(*out);
  return 0;
}

int RunExplain(const Flags& f) {
  auto id = RequiredFlag(f, "event");
  if (!id) return Report(id.error());
  auto log = OpenLog(f, LogAccess::kRead);
  if (!log) return Report(log.error());
  auto as_of = AsOfSeq(f, **log);
  if (!as_of) return Report(as_of.error());
  Progress progress("explain: reading history", *as_of);
  auto out = ExplainEventId(**log, *id, *as_of, Drawn(progress));
  progress.Done();
  if (!out) return Report(out.error());
  PrintJson(*out);
  return 0;
}

int RunExport(const Flags& f) {
  auto month = MonthFlag(f, /*required=*/true);
  if (!month) return Report(month.error());
  const std::string format = f.GetOr("format", "json");
  if (format != "json" && format != "csv") {
    return Report({ErrorCode::kInvalidArgument, "--format must be json or csv"});
  }
  auto log = OpenLog(f, LogAccess::kRead);
  if (!log) return Report(log.error());
  auto as_of = AsOfSeq(f, **log);
  if (!as_of) return Report(as_of.error());
  Progress progress("export: reading history", *as_of);
  auto out = ExportMonth(**log, **month, format == "csv" ? ExportFormat::kCsv : ExportFormat::kJson,
                         *as_of, Drawn(progress));
  progress.Done();
  if (!out) return Report(out.error());
  std::fwrite(out->data(), 1, out->size(), stdout);
  return 0;
}

int RunCheckpoint(const Flags& f) {
  if (!f.positional().empty()) {
    return Report({ErrorCode::kInvalidArgument, "checkpoint takes no positional argument"});
  }
  auto log = OpenLog(f, LogAccess::kRead);
  if (!log) return Report(log.error());
  PrintJson(CheckpointJson(**log));
  return 0;
}

}  // namespace ledger
