#include "api/replay_commands.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include "api/cli.h"
#include "api/progress.h"
#include "api/queries.h"
#include "projections/store.h"
#include "schemas/json_codec.h"

namespace ledger {
namespace json = boost::json;

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
  PrintJson(CloseAnswerJson(*out));
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
