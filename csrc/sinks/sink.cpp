#include "sinks/sink.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <random>

namespace vas {

int64_t sink_wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

using Clock = std::chrono::steady_clock;

int ms_until(Clock::time_point t) {
  const auto d = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return static_cast<int>(std::max<int64_t>(0, d));
}

}  // namespace

Sink::Sink(std::string name, std::unique_ptr<SinkBackend> backend, OutboxConfig config,
           SinkEventCallback on_event)
    : name_(std::move(name)),
      backend_(std::move(backend)),
      config_(config),
      on_event_(std::move(on_event)) {
  // Without an eventfd the thread still wakes every 100 ms (poll timeout), so this only costs
  // latency, never correctness.
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  stats_.name = name_;
  stats_.type = backend_->type();
  thread_ = std::thread([this] { run(); });
}

Sink::~Sink() { (void)close(1000); }

void Sink::wake() {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

bool Sink::publish(SinkMessage& m) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) {
      ++stats_.dropped_by_reason["shutdown"];
      return false;
    }
    if (outbox_.size() >= config_.capacity) {
      ++stats_.dropped_by_reason["outbox_full"];
      return false;
    }
    outbox_.push_back(std::move(m));
    ++stats_.queued;
  }
  wake();
  return true;
}

SinkStats Sink::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  SinkStats s = stats_;
  s.outbox_depth = outbox_.size();
  s.dropped = 0;
  for (const auto& [reason, n] : s.dropped_by_reason) s.dropped += n;
  return s;
}

Status Sink::close(int flush_timeout_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (std::this_thread::get_id() == own_id_) {
      return invalid_argument("sink '" + name_ +
                              "': close() called from its own thread (an event callback)");
    }
  }
  std::lock_guard<std::mutex> serial(close_mu_);
  std::unique_lock<std::mutex> lock(mu_);
  if (!thread_.joinable()) return Status::ok();
  if (!closing_) {
    closing_ = true;
    deadline_ = Clock::now() + std::chrono::milliseconds(std::max(0, flush_timeout_ms));
  }
  const auto deadline = deadline_;
  lock.unlock();
  wake();
  lock.lock();
  // The thread exits by itself once flushed; past the deadline, abort_ stops a connect that is
  // still waiting for the network.
  cv_.wait_until(lock, deadline, [&] { return finished_; });
  lock.unlock();
  abort_ = true;
  wake();
  if (thread_.joinable()) thread_.join();
  if (wake_fd_ >= 0) {
    ::close(wake_fd_);
    wake_fd_ = -1;
  }
  const SinkStats s = stats();
  if (s.dropped_by_reason.count("shutdown") && s.dropped_by_reason.at("shutdown") > 0) {
    return {StatusCode::kTimeout, "sink '" + name_ +
                                      "': " + std::to_string(s.dropped_by_reason.at("shutdown")) +
                                      " message(s) not delivered by the close deadline"};
  }
  return Status::ok();
}

void Sink::emit(const char* kind, const std::string& cause) {
  if (!on_event_) return;
  SinkEvent e{name_, kind, cause, sink_wall_us()};
  on_event_(e);
}

void Sink::lost_connection(const std::string& cause) {
  std::vector<SinkMessage> unacked = backend_->take_unacknowledged();
  // Unacknowledged messages are older than anything in retry_ (which holds at most the message
  // whose send just failed), so they go first, in their original order.
  retry_.insert(retry_.begin(), std::make_move_iterator(unacked.begin()),
                std::make_move_iterator(unacked.end()));
  resend_count_ += unacked.size();
  backend_->disconnect();
  connected_ = false;
  backoff_ms_ = config_.reconnect_initial_ms;
  next_attempt_ = Clock::now() + std::chrono::milliseconds(backoff_ms_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.connected = false;
    stats_.in_flight = 0;
    stats_.delivered += backend_->take_delivered();
    stats_.last_error = cause;
  }
  if (!in_outage_) {
    in_outage_ = true;
    outage_start_ = Clock::now();
    emit("sink_disconnected", cause);
  }
}

bool Sink::connect_with_backoff() {
  if (Clock::now() < next_attempt_) {
    int wait = ms_until(next_attempt_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closing_) wait = std::min(wait, ms_until(deadline_));
    }
    pollfd p{wake_fd_, POLLIN, 0};
    if (poll(&p, wake_fd_ >= 0 ? 1 : 0, std::min(wait, 100)) > 0) {
      uint64_t n;
      (void)!read(wake_fd_, &n, sizeof(n));
    }
    return false;
  }
  Status st = backend_->connect(abort_);
  if (!st.is_ok()) {
    backend_->disconnect();
    backoff_ms_ = backoff_ms_ == 0 ? config_.reconnect_initial_ms
                                   : std::min(config_.reconnect_max_ms, backoff_ms_ * 2);
    // +-20% jitter: many sinks that lost the same broker do not come back in lockstep.
    static thread_local std::minstd_rand rng(std::random_device{}());
    const double jitter = 0.8 + 0.4 * std::uniform_real_distribution<double>(0, 1)(rng);
    next_attempt_ =
        Clock::now() + std::chrono::milliseconds(static_cast<int>(backoff_ms_ * jitter));
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.connect_failures;
      stats_.last_error = st.message();
    }
    if (!in_outage_) {
      in_outage_ = true;
      outage_start_ = Clock::now();
      emit("sink_disconnected", st.message());
    }
    return false;
  }
  connected_ = true;
  backoff_ms_ = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.connected = true;
    if (in_outage_) ++stats_.reconnects;
  }
  if (in_outage_) {
    in_outage_ = false;
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - outage_start_).count();
    emit("sink_reconnected", "connected again after " + std::to_string(ms) + " ms");
  }
  return true;
}

bool Sink::flush_done() {
  if (!retry_.empty() || backend_->in_flight() > 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  return outbox_.empty();
}

void Sink::run() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    own_id_ = std::this_thread::get_id();
  }
  for (;;) {
    bool closing;
    Clock::time_point deadline;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing = closing_;
      deadline = deadline_;
    }
    if (abort_ || (closing && (Clock::now() >= deadline || flush_done()))) break;
    if (!connected_ && !connect_with_backoff()) continue;

    // Send while the acknowledgement window allows: retries first, then the outbox.
    bool busy = false;
    while (connected_ && backend_->can_send()) {
      if (abort_ || (closing && Clock::now() >= deadline)) break;
      SinkMessage m;
      bool resend = false;
      if (!retry_.empty()) {
        m = std::move(retry_.front());
        retry_.pop_front();
        resend = resend_count_ > 0;
        if (resend) --resend_count_;
      } else {
        std::lock_guard<std::mutex> lock(mu_);
        if (outbox_.empty()) break;
        m = std::move(outbox_.front());
        outbox_.pop_front();
      }
      std::string error;
      const SinkBackend::SendResult r = backend_->send(m, &error);
      if (r == SinkBackend::SendResult::kAccepted) {
        if (resend) {
          std::lock_guard<std::mutex> lock(mu_);
          ++stats_.redelivered;
        }
      } else if (r == SinkBackend::SendResult::kBusy) {
        retry_.push_front(std::move(m));
        if (resend) ++resend_count_;
        busy = true;
        break;
      } else if (r == SinkBackend::SendResult::kConnectionLost) {
        retry_.push_front(std::move(m));
        if (resend) ++resend_count_;
        lost_connection(error);
      } else {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.failed;
        stats_.last_error = error;
      }
    }
    if (!connected_) continue;

    // Wait for the socket, a new message or a close, then service the connection.
    bool ready;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready = !busy && backend_->can_send() && (!retry_.empty() || !outbox_.empty());
    }
    int timeout = ready ? 0 : busy ? 10 : 100;
    if (closing) timeout = std::min(timeout, ms_until(deadline));
    bool want_write = false;
    const int fd = backend_->wait_fd(&want_write);
    pollfd fds[2] = {{wake_fd_, POLLIN, 0},
                     {fd, static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0}};
    pollfd* first = wake_fd_ >= 0 ? &fds[0] : &fds[1];
    nfds_t n = 0;
    if (wake_fd_ >= 0) ++n;
    if (fd >= 0) ++n;
    if (n > 0 && poll(first, n, timeout) > 0 && wake_fd_ >= 0 && (fds[0].revents & POLLIN)) {
      uint64_t v;
      (void)!read(wake_fd_, &v, sizeof(v));
    }
    if (n == 0 && timeout > 0) std::this_thread::sleep_for(std::chrono::milliseconds(timeout));
    const Status st = backend_->service();
    {
      std::string why;
      const uint64_t failed = backend_->take_failed(&why);
      std::lock_guard<std::mutex> lock(mu_);
      stats_.delivered += backend_->take_delivered();
      stats_.in_flight = backend_->in_flight();
      if (failed > 0) {
        stats_.failed += failed;
        stats_.last_error = why;
      }
    }
    if (!st.is_ok()) lost_connection(st.message());
  }

  // Whatever is left was not delivered by the deadline.
  uint64_t left = retry_.size();
  if (connected_) {
    left += backend_->take_unacknowledged().size();
  } else {
    (void)backend_->take_unacknowledged();
  }
  backend_->disconnect();
  std::lock_guard<std::mutex> lock(mu_);
  stats_.delivered += backend_->take_delivered();
  left += outbox_.size();
  outbox_.clear();
  retry_.clear();
  if (left > 0) stats_.dropped_by_reason["shutdown"] += left;
  stats_.connected = false;
  stats_.in_flight = 0;
  finished_ = true;
  cv_.notify_all();
}

}  // namespace vas
