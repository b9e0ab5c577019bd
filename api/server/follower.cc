#include "api/server/follower.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "ledger/verified_import.h"

namespace ledger {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace {

// A page of 1000 events is about 1 MB; a generous bound all the same.
constexpr uint64_t kPageBytesMax = uint64_t{256} << 20;

void LogLine(json::object line) { std::fprintf(stderr, "%s\n", json::serialize(line).c_str()); }

}  // namespace

// One kept-alive connection to the primary, opened again after any failure.
struct Follower::Connection {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool open = false;
  void Run();
  void Close() {
    beast::error_code ignored;
    stream.socket().close(ignored);
    open = false;
  }
};

namespace {

// http://HOST:PORT -> {HOST, PORT}.
Result<std::pair<std::string, std::string>> HostAndPort(const FollowerOptions& options) {
  constexpr std::string_view kScheme = "http://";
  std::string_view rest = options.url;
  if (!rest.starts_with(kScheme)) {
    return Error{ErrorCode::kInvalidArgument,
                 "--follow must be http://HOST:PORT (the primary ledgerd; TLS through a tunnel)"};
  }
  rest.remove_prefix(kScheme.size());
  while (rest.ends_with('/')) rest.remove_suffix(1);
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size() ||
      rest.find('/') != std::string_view::npos) {
    return Error{ErrorCode::kInvalidArgument, "--follow must be http://HOST:PORT"};
  }
  if (options.token.empty()) {
    return Error{ErrorCode::kInvalidArgument,
                 "--follow needs --follow-token (an auditor's or operator's token of the primary)"};
  }
  return std::pair{std::string(rest.substr(0, colon)), std::string(rest.substr(colon + 1))};
}

}  // namespace

Status Follower::Check(const FollowerOptions& options) {
  auto where = HostAndPort(options);
  if (!where) return where.error();
  return Ok();
}

Result<std::unique_ptr<Follower>> Follower::Create(FollowerOptions options, EventLog& log,
                                                   Committer& committer) {
  auto where = HostAndPort(options);
  if (!where) return where.error();
  return std::unique_ptr<Follower>(new Follower(std::move(options), std::move(where->first),
                                                std::move(where->second), log, committer));
}

Follower::Follower(FollowerOptions options, std::string host, std::string port, EventLog& log,
                   Committer& committer)
    : options_(std::move(options)),
      host_(std::move(host)),
      port_(std::move(port)),
      log_(log),
      committer_(committer),
      connection_(std::make_unique<Connection>()) {}

Follower::~Follower() { Stop(); }

void Follower::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Follower::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    quit_ = true;
  }
  wake_.notify_all();
  // A request under way is cut short (run on the follower's thread, by its io_context).
  net::post(connection_->ioc, [c = connection_.get()] { c->stream.cancel(); });
  if (thread_.joinable()) thread_.join();
}

Follower::State Follower::state() const {
  State s;
  s.url = options_.url;
  const Seq primary = primary_seq_.load(), here = log_.head().seq;
  s.lag_events = primary > here ? primary - here : 0;
  std::lock_guard<std::mutex> lock(mu_);
  s.stopped = stopped_;
  return s;
}

void Follower::Wait(int ms) {
  std::unique_lock<std::mutex> lock(mu_);
  wake_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return quit_; });
}

void Follower::Loop() {
  LogLine({{"event", "following"}, {"url", options_.url}, {"last_seq", log_.head().seq}});
  std::string last_error;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (quit_) return;
    }
    const Outcome out = Step();
    if ((out.kind == Outcome::kStored || out.kind == Outcome::kIdle) && !last_error.empty()) {
      LogLine({{"event", "follow_resumed"}, {"url", options_.url}});
      last_error.clear();
    }
    switch (out.kind) {
      case Outcome::kStored:
        committer_.ProjectionsDue();
        break;
      case Outcome::kIdle:
        Wait(options_.poll_ms);
        break;
      case Outcome::kRetry:
        if (out.why != last_error) {
          LogLine({{"event", "follow_retrying"}, {"url", options_.url}, {"error", out.why}});
        }
        last_error = out.why;
        Wait(options_.retry_ms);
        break;
      case Outcome::kStop: {
        LogLine({{"event", "follow_stopped"},
                 {"url", options_.url},
                 {"last_seq", log_.head().seq},
                 {"error", out.why}});
        std::lock_guard<std::mutex> lock(mu_);
        stopped_ = out.why;
        return;
      }
    }
  }
}

// Runs the connection's queued operations to their end (each bounded by the stream's timeout,
// or cut short by Stop()).
void Follower::Connection::Run() {
  ioc.restart();
  ioc.run();
}

Follower::Outcome Follower::Step() {
  Connection& c = *connection_;
  const Seq head = log_.head().seq;
  const std::string target = "/v1/events?from=" + std::to_string(std::max<Seq>(head, 1)) +
                             "&limit=" + std::to_string(options_.page_events);
  beast::error_code ec;
  if (!c.open) {
    tcp::resolver resolver(c.ioc);
    auto endpoints = resolver.resolve(host_, port_, ec);
    if (!ec) {
      c.stream.expires_after(std::chrono::milliseconds(options_.timeout_ms));
      c.stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
      c.Run();
    }
    if (ec) return {Outcome::kRetry, "cannot reach the primary: " + ec.message()};
    c.open = true;
    c.buffer.clear();
  }
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, host_);
  req.set(http::field::authorization, "Bearer " + options_.token);
  req.keep_alive(true);
  http::response_parser<http::string_body> parser;
  parser.body_limit(kPageBytesMax);
  c.stream.expires_after(std::chrono::milliseconds(options_.timeout_ms));
  http::async_write(c.stream, req, [&](beast::error_code e, size_t) {
    ec = e;
    if (!e)
      http::async_read(c.stream, c.buffer, parser, [&](beast::error_code r, size_t) { ec = r; });
  });
  c.Run();
  if (ec) {
    c.Close();
    return {Outcome::kRetry, "the primary did not answer: " + ec.message()};
  }
  const auto& res = parser.get();
  if (!res.keep_alive()) c.Close();
  if (res.result_int() != 200) {
    return {Outcome::kRetry, "the primary answered " + std::to_string(res.result_int()) + " " +
                                 res.body().substr(0, 300)};
  }
  const auto seq_header = res.find("Ledger-Seq");
  const Seq primary_seq =
      seq_header == res.end()
          ? 0
          : std::strtoull(std::string(seq_header->value()).c_str(), nullptr, 10);
  json::value page = json::parse(res.body(), ec);
  if (ec || !page.is_object() || !page.as_object().contains("events") ||
      !page.at("events").is_array()) {
    return {Outcome::kRetry, "the primary's answer is not a page of events"};
  }
  return CheckAndImport(page, primary_seq);
}

Follower::Outcome Follower::CheckAndImport(const json::value& page, Seq primary_seq) {
  const Head head = log_.head();
  const json::array& events = page.at("events").as_array();
  size_t first_new = 0;
  if (head.seq > 0) {
    // The page starts at this ledger's head: the same event, the same hash, or the chains
    // disagree.
    if (events.empty()) {
      return {Outcome::kStop, "the primary has no event at seq " + std::to_string(head.seq) +
                                  " (its head is " + std::to_string(primary_seq) +
                                  "): it is behind this replica; not following it"};
    }
    auto mine = ParseRecordedEvent(events[0], 0);
    if (!mine || mine->seq != head.seq || mine->hash != head.hash) {
      return {Outcome::kStop, "the primary's event at seq " + std::to_string(head.seq) +
                                  " is not this replica's (another hash): the chains disagree; "
                                  "nothing was changed here"};
    }
    first_new = 1;
  }
  primary_seq_ = std::max<Seq>(primary_seq, head.seq + (events.size() - first_new));
  if (events.size() == first_new) return {Outcome::kIdle, ""};
  std::vector<RecordedEvent> batch;
  batch.reserve(events.size() - first_new);
  for (size_t i = first_new; i < events.size(); ++i) {
    auto e = ParseRecordedEvent(events[i], static_cast<int64_t>(batch.size()));
    if (!e) {
      return {Outcome::kStop, "the primary's event at seq " +
                                  std::to_string(head.seq + batch.size() + 1) +
                                  " is refused: " + e.error().ToString()};
    }
    batch.push_back(std::move(*e));
  }
  auto stored = ImportVerified(log_, batch);
  if (!stored) {
    return {Outcome::kStop,
            "the primary's events after seq " + std::to_string(head.seq) +
                " are refused (nothing of them stored): " + stored.error().ToString()};
  }
  return {Outcome::kStored, ""};
}

}  // namespace ledger
