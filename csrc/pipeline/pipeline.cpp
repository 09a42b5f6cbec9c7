// Pipeline control: create, start, stop, channels, rules. The stages are in pipeline_stages.cpp.
#include "pipeline/pipeline.h"

#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

#include "core/cpu_time.h"
#include "core/log.h"
#include "pipeline/pipeline_impl.h"
#include "pipeline/sink_messages.h"

namespace vas {
namespace {

// Waits on a channel's cv, re-checking pred every 50 ms, until pred holds or the deadline.
template <typename Pred>
bool wait_channel(Channel& ch, std::unique_lock<std::mutex>& lock, int64_t timeout_ms, Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!pred()) {
    if (timeout_ms >= 0 && std::chrono::steady_clock::now() >= deadline) return false;
    ch.cv.wait_for(lock, std::chrono::milliseconds(50));
  }
  return true;
}

Result<std::unique_ptr<Analytics>> make_analytics(const std::string& json) {
  VAS_ASSIGN_OR_RETURN(AnalyticsConfig cfg, parse_analytics_config(json));
  return Analytics::create(cfg);
}

}  // namespace

// Set while a worker runs a channel's analytics and callbacks: lets stop() and friends refuse
// to wait for themselves, and update_rules() apply directly from the channel's own callback.
thread_local const Pipeline::Impl* tl_owner = nullptr;
thread_local const Channel* tl_channel = nullptr;
// Removals asked for by the callback this thread runs now (CallbackScope hands them over).
thread_local std::vector<ChannelPtr> tl_removals;

CallbackScope::CallbackScope(Pipeline::Impl* p, const Channel* c)
    : owner_(p),
      prev_owner_(tl_owner),
      prev_channel_(tl_channel),
      outer_removals_(std::exchange(tl_removals, {})) {
  tl_owner = p;
  tl_channel = c;
}

CallbackScope::~CallbackScope() {
  tl_owner = prev_owner_;
  tl_channel = prev_channel_;
  if (!tl_removals.empty()) owner_->queue_removals(std::exchange(tl_removals, {}));
  tl_removals = std::move(outer_removals_);
}

// ----------------------------------------------------------------------------------------------
// Pipeline: thin forwarding to Impl.

Result<std::unique_ptr<Pipeline>> Pipeline::create(const std::string& config_json) {
  VAS_ASSIGN_OR_RETURN(PipelineConfig cfg, parse_pipeline_config(config_json));
  auto det =
      DetectorStage::create(cfg.detector_model, cfg.detector_options_json, cfg.inference.threads,
                            cfg.inference.spinning, cfg.inference.in_flight);
  if (!det.is_ok()) return det.status().with_context("pipeline config: models.detector");
  if (cfg.inference.max_batch == 0) {
    cfg.inference.max_batch = det.value()->lanes() > 1 ? 1 : InferenceConfig::kBatchedMaxBatch;
    for (ChannelConfig& c : cfg.channels) {
      if (c.pool_frames_auto) c.pool_frames = default_pool_frames(c.queue, cfg.inference.max_batch);
    }
  }
  std::unique_ptr<SinkSet> sinks;
  // Sink outages become pipeline events. The Impl that relays them is made after the sinks,
  // which may already have failed to connect: those events wait in the relay.
  struct Relay {
    std::mutex mu;
    Impl* impl = nullptr;
    std::vector<SinkEvent> early;
  };
  auto relay = std::make_shared<Relay>();
  if (!cfg.sinks_json.empty()) {
    auto s = SinkSet::create(cfg.sinks_json, [relay](const SinkEvent& e) {
      log_warn("sink '" + e.sink + "': " + e.kind + ": " + e.cause);
      std::lock_guard<std::mutex> lock(relay->mu);
      if (relay->impl) {
        relay->impl->sink_event(e);
      } else if (relay->early.size() < 64) {
        relay->early.push_back(e);
      }
    });
    if (!s.is_ok()) return s.status().with_context("pipeline config: sinks");
    sinks = std::move(s).value();
  }
  auto impl = std::make_shared<Impl>(std::move(cfg), std::move(det).value());
  impl->sinks_ = std::move(sinks);
  {
    std::lock_guard<std::mutex> lock(relay->mu);
    relay->impl = impl.get();  // the sinks close in shutdown(), before the Impl goes
    for (const SinkEvent& e : relay->early) impl->sink_event(e);
    relay->early.clear();
  }
  // In a cluster the channels are the shared list; the group decides which of them run here.
  for (size_t i = 0; !impl->cfg_.cluster.enabled && i < impl->cfg_.channels.size(); ++i) {
    VAS_RETURN_IF_ERROR(impl->add_channel_config(impl->cfg_.channels[i])
                            .with_context("pipeline config: channels[" + std::to_string(i) + "]"));
  }
  return std::unique_ptr<Pipeline>(new Pipeline(std::move(impl)));
}

Pipeline::Pipeline(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pipeline::~Pipeline() {
  if (impl_) impl_->shutdown();
}
Status Pipeline::set_result_callback(std::function<void(const FrameResult&)> cb) {
  return impl_->set_result_callback(std::move(cb));
}
Status Pipeline::set_event_callback(std::function<void(const PipelineEvent&)> cb) {
  return impl_->set_event_callback(std::move(cb));
}
Status Pipeline::start() { return impl_->start(); }
Status Pipeline::stop(bool drain) { return impl_->stop(drain); }
Status Pipeline::add_channel(const std::string& j) { return impl_->add_channel(j); }
Status Pipeline::remove_channel(const std::string& id, ChannelStats* final_stats) {
  return impl_->remove_channel(id, final_stats);
}
Status Pipeline::update_rules(const std::string& id, const std::string& rules) {
  return impl_->update_rules(id, rules);
}
Status Pipeline::push_frame(const std::string& id, const ImageView& image, int64_t pts_us,
                            std::function<void()> release) {
  return impl_->push_frame(id, image, pts_us, std::move(release));
}
Status Pipeline::live_watch(const std::string& id, bool on) { return impl_->live_watch(id, on); }
Result<LiveFrame> Pipeline::live_frame(const std::string& id, uint64_t after_seq, int timeout_ms) {
  return impl_->live_frame(id, after_seq, timeout_ms);
}
PipelineStats Pipeline::stats() const { return impl_->stats(); }
bool Pipeline::in_callback_thread() const { return impl_->in_callback_thread(); }

// ----------------------------------------------------------------------------------------------
// Control.

Pipeline::Impl::~Impl() {
  // Normally shutdown() has joined everything; this covers an Impl that outlived a destroy
  // from its own callback (then this runs on that detached worker, which must not join itself).
  stop_reaper();
  for (auto& t : workers_) {
    if (t.joinable()) {
      if (t.get_id() == std::this_thread::get_id()) {
        t.detach();
      } else {
        t.join();
      }
    }
  }
}

bool Pipeline::Impl::in_callback_thread() const { return tl_owner == this; }

Status Pipeline::Impl::lock_control(std::unique_lock<std::timed_mutex>* lock) {
  *lock = std::unique_lock<std::timed_mutex>(control_mu_, std::defer_lock);
  if (!in_callback_thread()) {
    lock->lock();
    return Status::ok();
  }
  while (!lock->try_lock_for(std::chrono::milliseconds(20))) {
    if (stopping_) {
      return invalid_argument("the pipeline is stopping; a callback cannot change it now");
    }
  }
  return Status::ok();
}

ChannelPtr Pipeline::Impl::find(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& c : channels_) {
    if (c->cfg.id == id) return c;
  }
  return nullptr;
}

Result<ChannelPtr> Pipeline::Impl::make_channel(ChannelConfig c) {
  auto ch = std::make_shared<Channel>(std::move(c));
  auto an = make_analytics(ch->cfg.analytics_json);
  if (!an.is_ok()) return an.status().with_context("channel '" + ch->cfg.id + "': analytics");
  ch->analytics = std::move(an).value();
  return ch;
}

Status Pipeline::Impl::add_channel_config(ChannelConfig c) {
  VAS_ASSIGN_OR_RETURN(ChannelPtr ch, make_channel(std::move(c)));
  std::lock_guard<std::mutex> lock(mu_);
  channels_.push_back(std::move(ch));
  return Status::ok();
}

Status Pipeline::Impl::set_result_callback(std::function<void(const FrameResult&)> cb) {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ == State::kRunning || state_ == State::kStopping) {
    return invalid_argument("set_result_callback: the pipeline is running; set it before start()");
  }
  on_result_ = std::move(cb);
  return Status::ok();
}

Status Pipeline::Impl::set_event_callback(std::function<void(const PipelineEvent&)> cb) {
  std::lock_guard<std::mutex> sink_lock(sink_event_mu_);  // sink threads read on_event_ too
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ == State::kRunning || state_ == State::kStopping) {
    return invalid_argument("set_event_callback: the pipeline is running; set it before start()");
  }
  on_event_ = std::move(cb);
  return Status::ok();
}

Status Pipeline::Impl::start_channel(const ChannelPtr& chp) {
  Channel& ch = *chp;
  bool restart;
  std::optional<RulesConfig> rules;
  {
    std::lock_guard<std::mutex> lock(ch.mu);
    restart = ch.next_index > 0 || ch.state != "created";
    rules = ch.rules_override;
  }
  if (restart) {
    // A restarted channel starts from scratch: new tracks, new ids, the current rules.
    auto an = make_analytics(ch.cfg.analytics_json);
    if (!an.is_ok()) return an.status().with_context("channel '" + ch.cfg.id + "': analytics");
    ch.analytics = std::move(an).value();
    if (rules) VAS_RETURN_IF_ERROR(ch.analytics->update_rules(*rules));
    ch.reset_counters();
  }
  {
    std::lock_guard<std::mutex> lock(ch.mu);
    ch.q.clear();
    ch.queued = 0;
    ch.in_batch = 0;
    ch.scheduled = false;
    ch.accepting = true;
    ch.discard = false;
    ch.flush_requested = ch.flushed = false;
    ch.pending_events.clear();
    // A restarted channel got the current rules with its new analytics above; rules set
    // before the first start are still pending and apply before its first frame.
    if (restart) ch.has_pending_rules = false;
    ch.next_index = 0;
    ch.last_ts_us = INT64_MIN;
    ch.last_analysed_ts_us = INT64_MIN;
    ch.last_epoch = 0;
    ch.push_width = ch.push_height = 0;
    ch.state = "running";
  }
  if (!ch.cfg.push) {
    ch.decode_stop = false;
    ch.decode_thread = std::thread([this, chp] { decode_loop(chp); });
  }
  return Status::ok();
}

Status Pipeline::Impl::start() {
  std::unique_lock<std::timed_mutex> control;
  VAS_RETURN_IF_ERROR(lock_control(&control));
  if (!in_callback_thread()) finish_removals_locked();
  std::vector<ChannelPtr> chans;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ == State::kRunning)
      return invalid_argument("start: the pipeline is already running");
    chans = channels_;
  }
  stopping_ = false;
  {
    std::lock_guard<std::mutex> lock(reap_mu_);
    reap_stop_ = false;
  }
  {
    std::lock_guard<std::mutex> lock(bmu_);
    bstop_ = false;
  }
  {
    std::lock_guard<std::mutex> lock(wmu_);
    wstop_ = false;
    runq_.clear();
  }
  decode_rate_.reset();
  infer_rate_.reset();
  analytics_rate_.reset();
  batches_ = 0;
  batch_frames_ = 0;
  for (auto& c : cpu_ns_) c = 0;
  cpu_frames_ = 0;
  detector_cpu_seen_.assign(static_cast<size_t>(detector_->lanes()), {});
  for (int lane = 0; lane < detector_->lanes(); ++lane) {
    detector_cpu_seen_[static_cast<size_t>(lane)] = detector_->cpu_ns(lane);
  }
  process_cpu_stop_ns_ = 0;
  process_cpu_start_ns_ = process_cpu_ns();
  for (int lane = 0; lane < detector_->lanes(); ++lane) {
    batchers_.emplace_back([this, lane] { batcher_loop(lane); });
  }
  for (int i = 0; i < cfg_.analytics_threads; ++i) {
    // Each worker keeps the Impl alive: see ~Pipeline from a callback in pipeline.h.
    workers_.emplace_back([self = shared_from_this()] { self->worker_loop(); });
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_ = State::kRunning;
  }
  for (const auto& ch : chans) {
    Status s = start_channel(ch);
    if (!s.is_ok()) {
      control.unlock();
      (void)stop(false);
      return s;
    }
  }
  if (cfg_.cluster.enabled) {
    cluster_closing_ = false;
    // Assignments arrive on the member's thread and wait for control_mu_, so after this returns.
    auto m = ClusterMember::start(
        cfg_.cluster, cfg_.node_id, static_cast<int>(cfg_.channels.size()),
        [this](const std::vector<int>& ps) { cluster_assign(ps); },
        [this](const std::vector<int>& ps) { cluster_revoke(ps); },
        [this](const std::string& kind, const std::string& cause) {
          log_warn("cluster (node '" + cfg_.node_id + "'): " + kind + ": " + cause);
        });
    if (!m.is_ok()) {
      control.unlock();
      (void)stop(false);
      return m.status();
    }
    std::lock_guard<std::mutex> lock(cluster_mu_);
    member_ = std::move(m).value();
  }
  control.unlock();
  // Sink events from before the first start, on this thread, now that nothing is locked.
  std::lock_guard<std::mutex> lock(sink_event_mu_);
  sink_events_live_ = true;
  for (const PipelineEvent& ev : early_sink_events_) deliver_sink_event_locked(ev);
  early_sink_events_.clear();
  return Status::ok();
}

void Pipeline::Impl::sink_event(const SinkEvent& e) {
  PipelineEvent ev;
  ev.kind = "sink";
  ev.subkind = e.kind.rfind("sink_", 0) == 0 ? e.kind.substr(5) : e.kind;
  ev.message = "sink '" + e.sink + "': " + e.cause;
  ev.wall_us = e.wall_us;
  // To the other sinks too (a file keeps the record of the broker's outage); each outbox
  // takes it without blocking.
  if (sinks_) sinks_->publish(to_sink_message(ev, cfg_.node_id));
  std::lock_guard<std::mutex> lock(sink_event_mu_);
  if (stopping_sinks_) return;
  if (!sink_events_live_) {
    // Before the first start() (a broker down from the outset is reported at create time):
    // kept, and delivered when start() returns.
    if (early_sink_events_.size() < 64) early_sink_events_.push_back(std::move(ev));
    return;
  }
  deliver_sink_event_locked(ev);
}

void Pipeline::Impl::deliver_sink_event_locked(const PipelineEvent& ev) {
  if (!on_event_) return;
  try {
    on_event_(ev);
  } catch (...) {
    log_warn("vasdk: the event callback threw on a sink event");
  }
}

void Pipeline::Impl::stop_cluster() {
  std::unique_ptr<ClusterMember> m;
  {
    std::lock_guard<std::mutex> lock(cluster_mu_);
    m = std::move(member_);
  }
  if (m) m->stop();
}

void Pipeline::Impl::cluster_assign(const std::vector<int>& partitions) {
  for (int p : partitions) {
    if (cluster_closing_) return;
    const ChannelConfig& c = cfg_.channels[static_cast<size_t>(p)];
    const Status s = add_parsed_channel(c);
    if (!s.is_ok()) {
      log_warn("cluster (node '" + cfg_.node_id + "'): cannot run channel '" + c.id +
               "' (partition " + std::to_string(p) + "): " + s.message());
      continue;
    }
    if (ChannelPtr ch = find(c.id)) {
      PipelineEvent ev;
      ev.channel = c.id;
      ev.kind = "cluster";
      ev.subkind = "assigned";
      ev.message = "node '" + cfg_.node_id + "' runs partition " + std::to_string(p) + " of '" +
                   cfg_.cluster.topic + "'";
      queue_source_event(*ch, std::move(ev));
    }
  }
}

void Pipeline::Impl::cluster_revoke(const std::vector<int>& partitions) {
  for (int p : partitions) {
    if (cluster_closing_) return;
    const std::string& id = cfg_.channels[static_cast<size_t>(p)].id;
    ChannelPtr ch = find(id);
    if (!ch) continue;
    PipelineEvent ev;
    ev.channel = id;
    ev.kind = "cluster";
    ev.subkind = "revoked";
    ev.message = "node '" + cfg_.node_id + "' gives up partition " + std::to_string(p) + " of '" +
                 cfg_.cluster.topic + "'";
    queue_source_event(*ch, std::move(ev));
    {
      // Let the worker deliver it (and what was queued before it) before the channel goes.
      std::unique_lock<std::mutex> lock(ch->mu);
      wait_channel(*ch, lock, 1000, [&] { return ch->pending_events.empty() && !ch->scheduled; });
    }
    const Status s = remove_channel(id);
    if (!s.is_ok()) log_warn("cluster: removing channel '" + id + "': " + s.message());
  }
}

void Pipeline::Impl::wait_idle(const ChannelPtr& chp, bool need_empty) {
  Channel& ch = *chp;
  std::unique_lock<std::mutex> lock(ch.mu);
  // The channel this thread is processing (a destroy from its callback) cannot go idle while
  // we wait here; the worker finishes it after the callback returns.
  const bool self = tl_channel == &ch;
  const int64_t timeout_ms = need_empty ? 30000 : -1;  // a drain gives up after 30 s
  wait_channel(ch, lock, timeout_ms, [&] {
    return ch.in_batch == 0 && (self || !ch.scheduled) && (!need_empty || ch.q.empty());
  });
}

void Pipeline::Impl::close_channel(const ChannelPtr& chp, DropReason reason) {
  Channel& ch = *chp;
  {
    std::lock_guard<std::mutex> lock(ch.mu);
    ch.accepting = false;
    ch.discard = true;
    ch.discard_reason = reason;
    while (drop_oldest_locked(ch, reason)) {
    }
    ch.cv.notify_all();  // producers blocked on a full queue
  }
  ch.decode_stop = true;
  {
    std::lock_guard<std::mutex> lock(ch.source_mu);
    if (ch.source) ch.source->interrupt();
  }
  if (ch.decode_thread.joinable()) ch.decode_thread.join();
  wait_idle(chp, false);
  ch.rate.freeze();
  std::lock_guard<std::mutex> lock(ch.mu);
  while (drop_oldest_locked(ch, reason)) {
  }
  ch.state = reason == DropReason::kRemoved ? "removed" : "stopped";
}

void Pipeline::Impl::stop_threads() {
  {
    std::lock_guard<std::mutex> lock(bmu_);
    bstop_ = true;
  }
  bcv_.notify_all();
  for (std::thread& b : batchers_) b.join();
  batchers_.clear();
  {
    std::lock_guard<std::mutex> lock(wmu_);
    wstop_ = true;
  }
  wcv_.notify_all();
  for (auto& t : workers_) {
    if (!t.joinable()) continue;
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // destroy from our own callback: this worker exits when it returns
    } else {
      t.join();
    }
  }
  workers_.clear();
  decode_rate_.freeze();
  infer_rate_.freeze();
  analytics_rate_.freeze();
}

Status Pipeline::Impl::stop(bool drain) {
  if (in_callback_thread()) {
    return invalid_argument(
        "stop: called from a pipeline callback, it would wait for that callback to return; "
        "call it from another thread");
  }
  stop_cluster();  // first: its revoke path takes control_mu_
  std::unique_lock<std::timed_mutex> control(control_mu_);
  finish_removals_locked();
  std::vector<ChannelPtr> chans;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ != State::kRunning) return Status::ok();
    state_ = State::kStopping;
    chans = channels_;
  }
  stopping_ = true;
  if (drain) {
    // Stop intake, let every queued frame through, then flush the analytics (last best shots
    // and track ends) on each channel's worker.
    for (const auto& ch : chans) {
      {
        std::lock_guard<std::mutex> lock(ch->mu);
        ch->accepting = false;
        ch->cv.notify_all();
      }
      ch->decode_stop = true;
      std::lock_guard<std::mutex> lock(ch->source_mu);
      if (ch->source) ch->source->interrupt();
    }
    for (const auto& ch : chans) {
      if (ch->decode_thread.joinable()) ch->decode_thread.join();
    }
    for (const auto& ch : chans) wait_idle(ch, true);
    for (const auto& ch : chans) {
      std::unique_lock<std::mutex> lock(ch->mu);
      ch->flush_requested = true;
      maybe_schedule_locked(*ch);
      wait_channel(*ch, lock, 5000, [&] { return ch->flushed || !ch->q.empty(); });
    }
  }
  for (const auto& ch : chans) close_channel(ch, DropReason::kStopped);
  stop_threads();
  // No callback runs now, so no removal can be asked for any more: finish those that were,
  // and let the reaper go with the other threads (start() allows a new one).
  finish_removals_locked();
  stop_reaper();
  // The workers are joined: finish the annotated videos so the files are complete now.
  for (const auto& ch : chans) ch->annotated.reset();
  process_cpu_stop_ns_ = process_cpu_ns();  // stats freeze at stop
  std::lock_guard<std::mutex> lock(mu_);
  state_ = State::kStopped;
  stopping_ = false;
  return Status::ok();
}

void Pipeline::Impl::shutdown() {
  cluster_closing_ = true;
  stop_cluster();
  stop_reaper();  // removals it has not finished are finished below, or go with the Impl
  std::unique_lock<std::timed_mutex> control;
  if (!lock_control(&control).is_ok()) return;  // another thread is stopping it right now
  std::vector<ChannelPtr> chans;
  {
    std::lock_guard<std::mutex> lock(mu_);
    chans = channels_;
    state_ = State::kStopping;
  }
  stopping_ = true;
  for (const auto& ch : chans) close_channel(ch, DropReason::kStopped);
  stop_threads();
  if (!in_callback_thread()) finish_removals_locked();
  // The workers are joined: finish the annotated videos so the files are complete now.
  for (const auto& ch : chans) ch->annotated.reset();
  // Nothing publishes any more: flush what the sinks hold (bounded) and join their threads.
  {
    std::lock_guard<std::mutex> lock(sink_event_mu_);
    stopping_sinks_ = true;  // the callback's owner may be going away with the pipeline
  }
  if (sinks_) {
    const Status st = sinks_->close(2000);
    if (!st.is_ok()) log_warn("pipeline sinks: " + st.message());
  }
  std::lock_guard<std::mutex> lock(mu_);
  state_ = State::kStopped;
}

}  // namespace vas
