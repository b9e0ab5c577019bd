// ledgerctl: the command line of the ledger (shared/domain/interfaces.md). Output is JSON on
// stdout; errors go to stderr, naming the line, event and field, with a non-zero exit code:
// 1 for refused input or a failed check, 2 for a bad command line, 3 for a storage failure.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "api/append_lines.h"
#include "api/cli.h"
#include "api/flags.h"
#include "api/progress.h"
#include "api/queries.h"
#include "api/replay_commands.h"
#include "api/server/tokens.h"
#include "generator/generator.h"
#include "ledger/event_log.h"
#include "projections/store.h"
#include "schemas/civil_date.h"
#include "schemas/json_codec.h"

namespace ledger {
namespace {

namespace json = boost::json;

struct Command {
  const char* name;
  const char* usage;
  const char* help;
  std::set<std::string> valued;
  std::set<std::string> switches;
  std::function<int(const Flags&)> run;
};

void PrintAppendResult(const AppendResult& result) {
  json::object out;
  out["appended"] = result.appended;
  out["duplicates"] = result.duplicates;
  out["last_seq"] = result.last_seq;
  PrintJson(out);
}

int RunAppend(const Flags& f) {
  if (f.positional().size() > 1) {
    return Report({ErrorCode::kInvalidArgument, "append takes one FILE (or - for stdin)"});
  }
  const std::string path = f.positional().empty() ? "-" : f.positional()[0];
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path);
    if (!file) return Report({ErrorCode::kInvalidArgument, "cannot open " + path});
    in = &file;
  }
  auto log = OpenLog(f, LogAccess::kCreate);
  if (!log) return Report(log.error());
  Progress progress("appending");
  AppendLinesError failure;
  auto result = AppendLines(**log, *in, DayOfTimestampUs(NowUs()), &failure,
                            [&](uint64_t n) { progress.Update(n); });
  progress.Done();
  if (!result) {
    const std::string where =
        failure.line > 0 ? "line " + std::to_string(failure.line) + ": " : std::string();
    return Report(failure.error, where + "nothing stored: ");
  }
  // The events are durable now; the projections follow (unless deferred to the next query).
  // A failure here loses nothing: the next query catches up again.
  if (f.Has("defer-projections")) {
    PrintAppendResult(*result);
    return 0;
  }
  ProjectionStore store(**log);
  Progress catch_up("updating projections", result->last_seq);
  if (Status s = store.CatchUp([&](Seq d, Seq) { catch_up.Update(d); }); !s) {
    std::fprintf(stderr, "ledgerctl: warning: events stored, projections not updated: %s\n",
                 s.error().ToString().c_str());
  }
  catch_up.Done();
  PrintAppendResult(*result);
  return 0;
}

int RunEvents(const Flags& f) {
  auto from = f.GetInt("from", 1, INT64_MAX);
  if (!from) return Report(from.error());
  auto limit = f.GetInt("limit", 0, INT64_MAX);
  if (!limit) return Report(limit.error());
  auto log = OpenLog(f, LogAccess::kRead);
  if (!log) return Report(log.error());
  const Seq first = static_cast<Seq>(from->value_or(1));
  const Seq last =
      limit->has_value() ? (**limit == 0 ? 0 : first + static_cast<Seq>(**limit) - 1) : UINT64_MAX;
  std::string out;
  errno = 0;
  Status s = (*log)->ReadRange(first, last, [&](const StoredEventView& v) {
    out = json::serialize(EncodeStoredEvent(v.stored(), ToHex(v.hash())));
    out.push_back('\n');
    return std::fwrite(out.data(), 1, out.size(), stdout) == out.size();
  });
  // A reader that stops early (| head) is not an error.
  if (errno == EPIPE) return 0;
  if (!s) return Report(s.error());
  return std::fflush(stdout) == 0 || errno == EPIPE ? 0 : kExitStorage;
}

int RunVerify(const Flags& f) {
  auto expect = ExpectFlag(f);  // --expect SEQ:HASH, from `ledgerctl checkpoint`
  if (!expect) return Report(expect.error());
  // The tail check is skipped on open so that a damaged chain is reported with its first bad
  // seq rather than as a failure to open.
  auto log = OpenLog(f, LogAccess::kRead, /*check_tail=*/false);
  if (!log) return Report(log.error());
  Progress progress("verifying", (*log)->head().seq);
  auto answer = VerifyLedger(**log, *expect, [&](Seq done, Seq) { progress.Update(done); });
  progress.Done();
  if (!answer) return Report(answer.error());
  if (answer->checkpoint && !answer->checkpoint->ok) {
    std::fprintf(stderr, "ledgerctl: verify: %s\n", answer->checkpoint->problem.c_str());
  }
  PrintJson(VerifyAnswerJson(*answer));
  return answer->ok() ? 0 : kExitRefused;
}

// generate: a synthetic national history (generator/generator.h) as JSON Lines on stdout or --out.
int RunGenerate(const Flags& f) {
  if (!f.positional().empty()) {
    return Report({ErrorCode::kInvalidArgument, "generate takes no FILE; use --out FILE"});
  }
  GeneratorOptions o;
  auto seed = f.GetInt("seed", 0, INT64_MAX);
  if (!seed) return Report(seed.error());
  auto events = f.GetInt("events", 1, kGeneratorEventsMax);
  if (!events) return Report(events.error());
  o.seed = static_cast<uint64_t>(seed->value_or(1));
  o.events_target = events->value_or(o.events_target);
  for (auto [name, day] : {std::pair{"from", &o.from}, std::pair{"to", &o.to}}) {
    if (auto text = f.Get(name)) {
      auto date = ParseDate(*text);
      if (!date) {
        return Report(
            {ErrorCode::kInvalidArgument, std::string("--") + name + " must be a date YYYY-MM-DD"});
      }
      *day = ToDay(*date);
    }
  }
  if (Status s = ValidateGeneratorOptions(o); !s) return Report(s.error());
  const std::optional<std::string> path = f.Get("out");
  std::FILE* out = path ? std::fopen(path->c_str(), "wb") : stdout;
  if (!out) return Report({ErrorCode::kInvalidArgument, "cannot create " + *path});
  Progress progress("generating", static_cast<uint64_t>(o.events_target));
  std::string buffer;
  uint64_t written = 0;
  bool write_ok = true;
  auto flush = [&] {
    write_ok = write_ok && std::fwrite(buffer.data(), 1, buffer.size(), out) == buffer.size();
    buffer.clear();
  };
  auto stats = GenerateHistory(o, [&](std::string_view line) {
    buffer.append(line);
    buffer.push_back('\n');
    if (buffer.size() >= (1u << 20)) flush();
    if ((++written & 4095) == 0) progress.Update(written);
  });
  flush();
  progress.Done();
  write_ok = std::fflush(out) == 0 && write_ok;
  if (path) write_ok = std::fclose(out) == 0 && write_ok;
  if (!stats) return Report(stats.error());
  if (!write_ok) {
    return Report({ErrorCode::kStorage, "writing " + path.value_or("stdout") + " failed"});
  }
  return 0;
}

int RunTokens(const Flags& f) {
  if (f.positional().size() != 1 || f.positional()[0] != "add") {
    return Report(
        {ErrorCode::kInvalidArgument, "usage: ledgerctl tokens add --file FILE --role ROLE"});
  }
  auto file = f.Get("file");
  auto role = ParseRole(f.GetOr("role", ""));
  if (!file || file->empty()) return Report({ErrorCode::kInvalidArgument, "--file is required"});
  if (!role) {
    return Report(
        {ErrorCode::kInvalidArgument, "--role must be recorder, coordinator, auditor or operator"});
  }
  auto token = TokenStore::Add(*file, *role, f.GetOr("network", ""), f.GetOr("name", ""));
  if (!token) return Report(token.error());
  // Shown once: only its SHA-256 is kept in the file.
  std::printf("%s\n", token->c_str());
  return 0;
}

// Writing and walking the log.
std::vector<Command> LogCommands() {
  return {
      {"append",
       "append [FILE|-] [--defer-projections] [--db DIR]",
       "Appends the JSON Lines events of FILE (or stdin) as one atomic batch: all are stored\n"
       "or none. Prints {\"appended\":N,\"duplicates\":M,\"last_seq\":S}. A refused event is\n"
       "named by line, batch index, id and field. The projections are brought up to date\n"
       "after the commit, or at the next query with --defer-projections.",
       {"db"},
       {"defer-projections"},
       RunAppend},
      {"events",
       "events [--from SEQ] [--limit N] [--db DIR]",
       "Prints stored events as JSON Lines, with seq, recorded_at and hash.",
       {"db", "from", "limit"},
       {},
       RunEvents},
      {"verify",
       "verify [--expect SEQ:HASH] [--db DIR]",
       "Walks the whole hash chain and sequence. Exit 0 and "
       "{\"ok\":true,\"events\":N,\"head\":H},\n"
       "or exit 1 and the first bad seq. --expect SEQ:HASH (from `checkpoint`) also proves that\n"
       "the event at SEQ still has that hash: history up to it was not rewritten since.",
       {"db", "expect"},
       {},
       RunVerify},
  };
}

// The read answers, and the operator's tokens and projections.
std::vector<Command> ReadCommands() {
  return {
      {"invoice",
       "invoice (--provider ID | --network ID) --month YYYY-MM [--format json|csv] [--as-of SEQ]"
       " [--db DIR]",
       "One provider's invoice for one month: totals over billable lines, and every line with\n"
       "its event, the rule that priced it, fee, co-pay, insurer share, or why it is not "
       "billable.\n"
       "With --network: the network's month, its totals, unbillable lines by reason and each\n"
       "provider's totals (CSV: every line of every provider of that network-month).",
       {"db", "provider", "network", "month", "format", "as-of", "as-of-time"},
       {},
       RunInvoice},
      {"networks",
       "networks [--as-of SEQ] [--db DIR]",
       "The registered networks: id, name and population.",
       {"db", "as-of", "as-of-time"},
       {},
       RunNetworks},
      {"providers",
       "providers --network ID [--on YYYY-MM-DD] [--as-of SEQ] [--db DIR]",
       "The providers of a network: enrolled on that date, or ever enrolled (their latest\n"
       "enrolment), with profession, enrolled_on and left_on.",
       {"db", "network", "on", "as-of", "as-of-time"},
       {},
       RunProviders},
      {"quota",
       "quota --niss NISS --on YYYY-MM-DD [--as-of SEQ] [--db DIR]",
       "The beneficiary's trajectories active on that date and their counters.",
       {"db", "niss", "on", "as-of", "as-of-time"},
       {},
       RunQuota},
      {"balance",
       "balance --network ID --year YYYY [--as-of SEQ] [--db DIR]",
       "The network's care budget for the year: allocated, consumed, remaining, projected\n"
       "exhaustion (from the spend rate up to the latest care date), and the months: consumed,\n"
       "cumulative and by function.",
       {"db", "network", "year", "as-of", "as-of-time"},
       {},
       RunBalance},
      {"figures",
       "figures --network ID --on YYYY-MM-DD [--as-of SEQ] [--db DIR]",
       "Network figures on a date: mean individual sessions per closed treatment trajectory,\n"
       "share of support trajectories with an exception (reported, not enforced).",
       {"db", "network", "on", "as-of", "as-of-time"},
       {},
       RunFigures},
      {"tokens",
       "tokens add --file FILE --role ROLE [--network ID] [--name TEXT]",
       "Creates a bearer token for ledgerd and prints it once; FILE keeps only its SHA-256, with\n"
       "the role (recorder, coordinator, auditor, operator), network (coordinators) and name.",
       {"file", "role", "network", "name"},
       {},
       RunTokens},
      {"projections",
       "projections status|rebuild [--db DIR]",
       "status: the seq the persisted projections reflect and their digest; rebuild: fold all\n"
       "history again from seq 1 (they are kept up to date on every append and query).",
       {"db"},
       {},
       RunProjections},
  };
}

// Tariff revisions, closed months, audit tools and the synthetic history.
std::vector<Command> AuditCommands() {
  return {
      {"rules",
       "rules show [ID] [--db DIR] | rules publish FILE --reason TEXT [--db DIR]",
       "show: prints the rulesets in force (or one) as the JSON that `rules publish` and\n"
       "`replay --rules` take. publish: validates the ruleset in FILE (or - for stdin) and\n"
       "appends it; from then on it prices every care date it covers. Its version must be higher\n"
       "than the one in force for its id, which it replaces for all dates. Try it first with\n"
       "`replay --rules FILE`.",
       {"db", "as-of", "as-of-time", "reason"},
       {"defer-projections"},
       RunRulesCommand},
      {"replay",
       "replay --rules FILE [--from YYYY-MM-DD] [--format json|text] [--db DIR]",
       "Dry run of a ruleset: folds all history under the rulesets in force and again with FILE\n"
       "added, and prints the differences per provider-month (fee, co-pay, insurer share before,\n"
       "after, delta; lines repriced or changing billability) and per network-year (budget\n"
       "consumed), with totals. --from: only care dates on or after it. Stores nothing.",
       {"db", "rules", "from", "format"},
       {},
       RunReplay},
      {"close",
       "close --month YYYY-MM [--db DIR]",
       "Closes a month that is over: appends, in one atomic batch, one invoice.issued per\n"
       "provider with lines that month (totals as billed now, line count and SHA-256 of the\n"
       "lines, ruleset in force on the 1st). A month is closed once.",
       {"db", "month"},
       {},
       RunClose},
      {"regularisations",
       "regularisations [--month YYYY-MM] [--provider ID] [--as-of SEQ] [--db DIR]",
       "Issued versus current totals of closed provider-months, after a tariff revision or a\n"
       "void: the differences, and the next open month they are billed in. --provider keeps\n"
       "one provider's invoices and months.",
       {"db", "month", "provider", "as-of", "as-of-time"},
       {},
       RunRegularisations},
      {"explain",
       "explain --event ID [--as-of SEQ] [--db DIR]",
       "For auditors: how a care event was priced. The state the fold met (trajectory, counter\n"
       "used and maximum, assessment, age, enrolment), the ruleset and fee row, the co-pay rule\n"
       "and fee = co-pay + insurer share for each of its lines.",
       {"db", "event", "as-of", "as-of-time"},
       {},
       RunExplain},
      {"export",
       "export --month YYYY-MM [--format json|csv] [--as-of SEQ] [--db DIR]",
       "Every invoice line of the month for all providers: CSV with the invoice CSV's columns,\n"
       "or JSON {\"month\",\"invoices\":[...]}.",
       {"db", "month", "format", "as-of", "as-of-time"},
       {},
       RunExport},
      {"checkpoint",
       "checkpoint [--db DIR]",
       "Prints {\"seq\":N,\"head\":H}: the head to write down; `verify --expect N:H` proves later\n"
       "that history up to N was not rewritten.",
       {"db"},
       {},
       RunCheckpoint},
      {"generate",
       "generate [--seed N] [--events N] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--out FILE]",
       "Writes a realistic synthetic national history as JSON Lines (stdout, or FILE): 32\n"
       "networks, budgets, providers and care under both conventions. Deterministic: the same\n"
       "flags give the same bytes. Defaults: --seed 1, --events 20000 (approximate), --from\n"
       "2022-01-01, --to 2026-06-30. Streams in constant memory.",
       {"seed", "events", "from", "to", "out"},
       {},
       RunGenerate},
  };
}

// In the order `ledgerctl --help` lists them.
const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = [] {
    std::vector<Command> all;
    for (auto group : {LogCommands(), ReadCommands(), AuditCommands()}) {
      all.insert(all.end(), group.begin(), group.end());
    }
    return all;
  }();
  return commands;
}

void PrintUsage(FILE* to) {
  std::fprintf(to, "usage: ledgerctl COMMAND [ARGS] [--db DIR]   (--db defaults to ./data)\n\n");
  for (const auto& c : Commands()) std::fprintf(to, "  ledgerctl %s\n", c.usage);
  std::fprintf(to, "\n'ledgerctl COMMAND --help' describes one command.\n");
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return kExitUsage;
  }
  const std::string verb = argv[1];
  if (verb == "--help" || verb == "-h" || verb == "help") {
    PrintUsage(stdout);
    return 0;
  }
  for (const auto& c : Commands()) {
    if (verb != c.name) continue;
    std::vector<std::string> args(argv + 2, argv + argc);
    std::set<std::string> switches = c.switches;
    switches.insert("help");
    auto flags = Flags::Parse(args, c.valued, switches);
    if (!flags) return Report(flags.error(), verb + ": ");
    if (flags->Has("help")) {
      std::printf("usage: ledgerctl %s\n\n%s\n", c.usage, c.help);
      return 0;
    }
    return c.run(*flags);
  }
  std::fprintf(stderr, "ledgerctl: unknown command '%s'\n\n", verb.c_str());
  PrintUsage(stderr);
  return kExitUsage;
}

}  // namespace
}  // namespace ledger

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed pipe is reported by write(), handled per command
  // Whatever the caller's umask: the ledger's files (RocksDB creates them under the umask), token
  // files and generated histories hold NISS numbers or secrets. 0600 files, 0700 directories.
  ::umask(077);
  return ledger::Main(argc, argv);
}
