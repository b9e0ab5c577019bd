// Connections: one Beast session per TCP connection on its own strand, reading requests with
// their limits and timeouts, writing answers whole or streamed in chunks. When connections run
// short, the one waiting longest for a request is closed to make room (as nginx closes idle
// keep-alive connections under pressure), so that idle clients cannot lock others out.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "api/server/server_impl.h"

namespace ledger {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Server::Impl& server)
      : stream_(std::move(socket)), server_(server) {
    server_.metrics.ConnectionOpened();
  }
  ~Session() {
    server_.metrics.ConnectionClosed();
    server_.connections.Remove(handle_);
  }

  void Start(ConnectionTable::Handle handle) {
    handle_ = handle;
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::Read, shared_from_this()));
  }

  // Waiting for a request since (steady clock, ns); 0 while a request is being answered.
  int64_t idle_since() const { return idle_since_.load(); }
  // Closes the connection if it is still idle (on its strand).
  void CloseIfIdle() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_since_.load() != 0) self->Close();
    });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(server_.options.body_bytes_max);
    parser_->header_limit(static_cast<uint32_t>(server_.options.header_bytes_max));
    stream_.expires_after(std::chrono::milliseconds(first_ ? server_.options.read_timeout_ms
                                                           : server_.options.idle_timeout_ms));
    first_ = false;
    idle_since_ = Clock::now().time_since_epoch().count();
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    idle_since_ = 0;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::bad_descriptor) {
      return Close();  // a client that sends nothing (or stops), or closed under pressure
    }
    if (ec) return Refuse(ec);
    ++server_.in_flight;
    stream_.expires_never();  // the answer may wait for a group commit
    auto self = shared_from_this();
    // While the answer waits (a group commit runs on the committer's thread), nothing of this
    // session is queued on the io_context: the work guard keeps the I/O threads running until
    // the answer is being written, so that Stop() can drain it.
    auto work = net::make_work_guard(stream_.get_executor());
    // A read is answered within Handle(), on this session's strand: dispatch writes it at once.
    // An append's answer comes from the committer's thread: dispatch posts it to the strand.
    server_.Handle(parser_->release(), [self, work](Answer a) {
      net::dispatch(self->stream_.get_executor(),
                    [self, work, a = std::move(a)]() mutable { self->Write(std::move(a)); });
    });
  }

  // A request that could not be read whole: answered, then the connection is closed.
  void Refuse(beast::error_code ec) {
    Exchange x;
    x.keep_alive = false;
    ++server_.in_flight;
    if (ec == http::error::body_limit) {
      Write(server_.Fail(
          x, ErrorCode::kPayloadTooLarge,
          "body larger than " + std::to_string(server_.options.body_bytes_max) + " bytes"));
    } else if (ec == http::error::header_limit) {
      Write(server_.Fail(x, ErrorCode::kHeadersTooLarge, "request line and headers too large"));
    } else {
      Write(server_.Fail(x, ErrorCode::kInvalidArgument, "malformed HTTP request"));
    }
  }

  void Write(Answer a) {
    answer_ = std::make_unique<Answer>(std::move(a));
    stream_.expires_after(std::chrono::milliseconds(server_.options.read_timeout_ms));
    if (!answer_->stream) {
      http::async_write(stream_, answer_->res,
                        beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
      return;
    }
    serializer_.emplace(answer_->res);
    http::async_write_header(stream_, *serializer_,
                             beast::bind_front_handler(&Session::OnPiece, shared_from_this()));
  }

  // The next piece of a streamed body, after the head or the piece before.
  void OnPiece(beast::error_code ec, std::size_t) {
    if (ec) return Finished(ec, false);
    if (piece_done_) {
      return net::async_write(stream_, http::make_chunk_last(),
                              beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
    }
    piece_.clear();
    bool done = false;
    Status s = answer_->stream(&piece_, &done);
    if (!s) {
      std::fprintf(stderr, "{\"event\":\"stream_failed\",\"message\":\"%s\"}\n",
                   s.error().message.c_str());
      return Finished(net::error::connection_aborted, false);
    }
    piece_done_ = done;
    stream_.expires_after(std::chrono::milliseconds(server_.options.read_timeout_ms));
    if (piece_.empty()) return OnPiece({}, 0);
    net::async_write(stream_, http::make_chunk(net::buffer(piece_)),
                     beast::bind_front_handler(&Session::OnPiece, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t) {
    Finished(ec, answer_ && answer_->res.keep_alive());
  }

  void Finished(beast::error_code ec, bool keep_alive) {
    --server_.in_flight;
    answer_.reset();
    serializer_.reset();
    piece_.clear();
    piece_done_ = false;
    if (ec || !keep_alive || server_.stopping.load()) return Close();
    Read();
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::unique_ptr<Answer> answer_;
  std::optional<http::response_serializer<http::string_body>> serializer_;
  std::string piece_;
  bool piece_done_ = false;
  Server::Impl& server_;
  ConnectionTable::Handle handle_;
  bool first_ = true;
  std::atomic<int64_t> idle_since_{0};
};

ConnectionTable::Handle ConnectionTable::Add(std::weak_ptr<Session> s) {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.insert(sessions_.end(), std::move(s));
}

void ConnectionTable::Remove(Handle h) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(h);
}

size_t ConnectionTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

bool ConnectionTable::CloseLongestIdle() {
  std::shared_ptr<Session> oldest;
  {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t since = INT64_MAX;
    for (const auto& weak : sessions_) {
      auto s = weak.lock();
      if (!s) continue;
      const int64_t idle = s->idle_since();
      if (idle != 0 && idle < since) {
        since = idle;
        oldest = std::move(s);
      }
    }
  }
  if (!oldest) return false;
  oldest->CloseIfIdle();
  return true;
}

void Server::Impl::Accept() {
  acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (stopping.load()) return;
    if (!ec) {
      // Over the limit: the connection waiting longest for a request makes room; when every
      // one is busy, the new one is refused at once.
      if (static_cast<int>(connections.size()) >= options.connections_max &&
          !connections.CloseLongestIdle()) {
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        auto session = std::make_shared<Session>(std::move(socket), *this);
        session->Start(connections.Add(session));
      }
    }
    Accept();
  });
}

}  // namespace ledger
