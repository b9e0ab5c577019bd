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
#include "ledger/backup.h"
#include "ledger/event_log.h"
#include "ledger/verified_import.h"
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

// After events were stored: the projections brought up to date. A failure loses nothing (the
// next query catches up again): a warning.
void CatchUpProjections(EventLog& log, Seq last_seq) {
  ProjectionStore store(log);
  // A file large beside the ledger it goes into: its projections rebuilt rather than caught up.
  store.set_rebuild_instead_max(ProjectionStore::kRebuildInsteadMax);
  Progress catch_up("updating projections", last_seq);
  if (Status s = store.CatchUp([&](Seq d, Seq) { catch_up.Update(d); }); !s) {
    std::fprintf(stderr, "ledgerctl: warning: events stored, projections not updated: %s\n",
                 s.error().ToString().c_str());
  }
  catch_up.Done();
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
  CatchUpProjections(**log, result->last_seq);
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

Result<std::string> TokensFile(const Flags& f) {
  auto file = f.Get("file");
  if (!file || file->empty()) return Error{ErrorCode::kInvalidArgument, "--file is required"};
  return *file;
}

int RunTokensAdd(const Flags& f, const std::string& file) {
  NewToken t;
  auto role = ParseRole(f.GetOr("role", ""));
  if (!role) {
    return Report(
        {ErrorCode::kInvalidArgument, "--role must be recorder, coordinator, auditor or operator"});
  }
  t.role = *role;
  t.network = f.GetOr("network", "");
  t.name = f.GetOr("name", "");
  if (auto expires = f.Get("expires")) {
    auto date = ParseDate(*expires);
    if (!date) return Report({ErrorCode::kInvalidArgument, "--expires must be a date YYYY-MM-DD"});
    if (ToDay(*date) < DayOfTimestampUs(NowUs())) {
      return Report({ErrorCode::kInvalidArgument, "--expires " + *expires + " is already past"});
    }
    t.expires = ToDay(*date);
  }
  auto token = TokenStore::Add(file, t);
  if (!token) return Report(token.error());
  // Shown once: only its SHA-256 is kept in the file.
  std::printf("%s\n", token->c_str());
  return 0;
}

int RunTokensList(const std::string& file) {
  auto tokens = TokenStore::List(file);
  if (!tokens) return Report(tokens.error());
  json::array list;
  for (const TokenInfo& t : *tokens) {
    json::object o;
    o["name"] = t.name;
    o["role"] = RoleName(t.role);
    o["network"] = t.network.empty() ? json::value(nullptr) : json::value(t.network);
    o["created"] = t.created ? json::value(FormatDay(*t.created)) : json::value(nullptr);
    o["expires"] = t.expires ? json::value(FormatDay(*t.expires)) : json::value(nullptr);
    list.emplace_back(std::move(o));
  }
  PrintJson(json::object{{"tokens", std::move(list)}});
  return 0;
}

int RunTokens(const Flags& f) {
  const std::string verb = f.positional().size() == 1 ? f.positional()[0] : "";
  if (verb != "add" && verb != "list" && verb != "revoke") {
    return Report({ErrorCode::kInvalidArgument,
                   "usage: ledgerctl tokens add|list|revoke --file FILE ... (--help)"});
  }
  auto file = TokensFile(f);
  if (!file) return Report(file.error());
  if (verb == "add") return RunTokensAdd(f, *file);
  if (verb == "list") return RunTokensList(*file);
  auto name = f.Get("name");
  if (!name || name->empty()) {
    return Report({ErrorCode::kInvalidArgument, "tokens revoke needs --name NAME (tokens list)"});
  }
  if (Status s = TokenStore::Revoke(*file, *name); !s) return Report(s.error());
  PrintJson(json::object{{"revoked", *name}});
  return 0;
}

int RunBackup(const Flags& f) {
  auto to = f.Get("to");
  if (!to || to->empty()) return Report({ErrorCode::kInvalidArgument, "--to BACKUPS is required"});
  // Written like an append: refused while ledgerd holds the ledger (POST /v1/admin/backups).
  auto log = OpenLog(f, LogAccess::kWrite);
  if (!log) return Report(log.error());
  auto backup = CreateBackup(**log, *to);
  if (!backup) return Report(backup.error());
  json::object out = BackupJson(*backup);
  out.erase("created_at");
  PrintJson(out);
  return 0;
}

int RunBackups(const Flags& f) {
  auto from = f.Get("from");
  if (!from || from->empty()) {
    return Report({ErrorCode::kInvalidArgument, "--from BACKUPS is required"});
  }
  auto backups = ListBackups(*from);
  if (!backups) return Report(backups.error());
  json::array list;
  for (const BackupRecord& b : *backups) list.emplace_back(BackupJson(b));
  PrintJson(json::object{{"backups", std::move(list)}});
  return 0;
}

int RunRestore(const Flags& f) {
  auto from = f.Get("from");
  auto db = f.Get("db");
  if (!from || from->empty() || !db || db->empty()) {
    return Report({ErrorCode::kInvalidArgument, "restore needs --from BACKUPS and --db NEWDIR"});
  }
  auto id = f.GetInt("backup-id", 1, UINT32_MAX);
  if (!id) return Report(id.error());
  Progress progress("verifying the restored ledger");
  auto restored =
      RestoreBackup(*from, id->has_value() ? std::optional<uint32_t>(**id) : std::nullopt, *db,
                    [&](Seq done, Seq) { progress.Update(done); });
  progress.Done();
  if (!restored) return Report(restored.error());
  json::object out = BackupJson(restored->backup);
  out["restored_into"] = *db;
  out["verified"] = VerifyAnswerJson(VerifyAnswer{restored->verify, std::nullopt});
  PrintJson(out);
  return 0;
}

// import --verified FILE: the events of `ledgerctl events` output stored with their own seq,
// recorded_at and hash, every hash recomputed (ledger/verified_import.h); one batch.
int RunImport(const Flags& f) {
  auto path = f.Get("verified");
  if (!path || path->empty() || !f.positional().empty()) {
    return Report(
        {ErrorCode::kInvalidArgument, "usage: ledgerctl import --verified FILE --db DIR"});
  }
  std::ifstream in(*path);
  if (!in) return Report({ErrorCode::kInvalidArgument, "cannot open " + *path});
  auto log = OpenLog(f, LogAccess::kCreate);
  if (!log) return Report(log.error());
  std::optional<Hash> last_hash;
  uint64_t imported = 0;
  Result<Head> head = Error{ErrorCode::kStorage, "not committed"};
  {
    Progress progress("importing");
    VerifiedImport import(**log);
    std::string line;
    for (uint64_t n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = "line " + std::to_string(n) + ": nothing stored: ";
      auto e = ParseRecordedEventText(line, static_cast<int64_t>(imported));
      if (!e) return Report(e.error(), where);
      if (Status s = import.Add(*e); !s) return Report(s.error(), where);
      last_hash = e->hash;
      if ((++imported & 4095) == 0) progress.Update(imported);
    }
    if (in.bad()) return Report({ErrorCode::kStorage, "reading " + *path + " failed"});
    head = import.Commit();
    progress.Done();
  }
  if (!head) return Report(head.error(), "nothing stored: ");
  // Proved identical: the chain verifies whole and ends at the file's last hash.
  Progress verifying("verifying", head->seq);
  auto report = (*log)->Verify([&](Seq done, Seq) { verifying.Update(done); });
  verifying.Done();
  if (!report) return Report(report.error());
  json::object out;
  out["imported"] = imported;
  out["last_seq"] = head->seq;
  out["head"] = ToHex(head->hash);
  out["verified"] = VerifyAnswerJson(VerifyAnswer{*report, std::nullopt});
  if (!report->ok || (last_hash && *last_hash != report->head)) {
    PrintJson(out);
    return Report({ErrorCode::kCorruption,
                   "the imported ledger does not verify, or its head is "
                   "not the file's last hash"});
  }
  CatchUpProjections(**log, head->seq);
  PrintJson(out);
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
       "tokens add --file FILE --role ROLE [--network ID] [--name TEXT] [--expires YYYY-MM-DD]"
       " | tokens list --file FILE | tokens revoke --file FILE --name TEXT",
       "add: creates a bearer token for ledgerd and prints it once; FILE keeps only its SHA-256,\n"
       "with the role (recorder, coordinator, auditor, operator), network (coordinators), name\n"
       "(unique in FILE), the day it was created and, with --expires, the last day it works.\n"
       "list: {\"tokens\":[{\"name\",\"role\",\"network\",\"created\",\"expires\"}]}, never a "
       "token.\n"
       "revoke: removes the token of that name. A running ledgerd takes changes on SIGHUP.",
       {"file", "role", "network", "name", "expires"},
       {},
       RunTokens},
      {"backup",
       "backup --to BACKUPS [--db DIR]",
       "Backs the ledger up into the directory BACKUPS with RocksDB's backup engine: incremental\n"
       "(files shared between the backups of BACKUPS), each copied file checked against its\n"
       "checksum. Prints {\"backup_id\",\"seq\",\"head\",\"bytes\"}; the backup records its seq "
       "and\n"
       "head. Refused while ledgerd holds the ledger: use POST /v1/admin/backups then.",
       {"db", "to"},
       {},
       RunBackup},
      {"backups",
       "backups --from BACKUPS",
       "Lists the backups of BACKUPS: "
       "{\"backups\":[{\"backup_id\",\"seq\",\"head\",\"created_at\",\"bytes\"}]}.",
       {"from"},
       {},
       RunBackups},
      {"restore",
       "restore --from BACKUPS [--backup-id N] --db NEWDIR",
       "Restores a backup (default: the latest) into NEWDIR, which must not exist or be empty\n"
       "(never over a ledger), verifies the whole chain of the restored ledger and checks that\n"
       "its head is the one the backup recorded. On a failure NEWDIR is removed again.",
       {"db", "from", "backup-id"},
       {},
       RunRestore},
      {"import",
       "import --verified FILE [--db DIR]",
       "Rebuilds a ledger from `ledgerctl events` output (an auditor's copy): every event stored\n"
       "with its own seq, recorded_at and hash after its hash is recomputed over the chain; seqs\n"
       "must follow the ledger's head without a gap. One batch: a refused line (named, with the\n"
       "field) stores nothing. Then verifies the whole chain; prints\n"
       "{\"imported\",\"last_seq\",\"head\",\"verified\"}: head is the file's last hash.",
       {"db", "verified"},
       {},
       RunImport},
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
  std::fprintf(to, "\n'ledgerctl COMMAND --help' describes one command; 'ledgerctl --version'.\n");
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
  if (verb == "--version" || verb == "version") {
    std::printf("%s\n", VersionText("ledgerctl").c_str());
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
