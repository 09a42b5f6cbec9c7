// Pipeline control (start, stop, channels), the shared batcher, the analytics workers and stats.
#include "pipeline/pipeline.h"

#include <algorithm>
#include <cstdio>
#include <exception>

#include "pipeline/pipeline_impl.h"

namespace vas {
namespace {

// Set while a worker runs a channel's analytics and callbacks: lets stop() and friends refuse
// to wait for themselves, and update_rules() apply directly from the channel's own callback.
thread_local const Pipeline::Impl* tl_owner = nullptr;
thread_local const Channel* tl_channel = nullptr;

struct CallbackScope {
  CallbackScope(const Pipeline::Impl* p, const Channel* c) {
    tl_owner = p;
    tl_channel = c;
  }
  ~CallbackScope() {
    tl_owner = nullptr;
    tl_channel = nullptr;
  }
};

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

ObjectResult to_object(const TrackedObject& t) {
  ObjectResult o;
  o.track_id = t.track_id;
  o.class_id = t.class_id;
  o.score = t.score;
  o.box[0] = t.x1;
  o.box[1] = t.y1;
  o.box[2] = t.x2;
  o.box[3] = t.y2;
  o.num_landmarks = t.num_landmarks;
  std::copy(t.landmarks, t.landmarks + 10, o.landmarks);
  o.parent_track_id = t.parent_track_id;
  return o;
}

}  // namespace

// ----------------------------------------------------------------------------------------------
// Pipeline: thin forwarding to Impl.

Result<std::unique_ptr<Pipeline>> Pipeline::create(const std::string& config_json) {
  VAS_ASSIGN_OR_RETURN(PipelineConfig cfg, parse_pipeline_config(config_json));
  auto det = DetectorStage::create(cfg.detector_model, cfg.detector_options_json,
                                   cfg.inference.threads, cfg.inference.spinning);
  if (!det.is_ok()) return det.status().with_context("pipeline config: models.detector");
  auto impl = std::make_shared<Impl>(std::move(cfg), std::move(det).value());
  for (size_t i = 0; i < impl->cfg_.channels.size(); ++i) {
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
Status Pipeline::remove_channel(const std::string& id) { return impl_->remove_channel(id); }
Status Pipeline::update_rules(const std::string& id, const std::string& rules) {
  return impl_->update_rules(id, rules);
}
Status Pipeline::push_frame(const std::string& id, const ImageView& image, int64_t pts_us,
                            std::function<void()> release) {
  return impl_->push_frame(id, image, pts_us, std::move(release));
}
PipelineStats Pipeline::stats() const { return impl_->stats(); }
bool Pipeline::in_callback_thread() const { return impl_->in_callback_thread(); }

// ----------------------------------------------------------------------------------------------
// Control.

Pipeline::Impl::~Impl() {
  // Normally shutdown() has joined everything; this covers an Impl that outlived a destroy
  // from its own callback (then this runs on that detached worker, which must not join itself).
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
  std::vector<ChannelPtr> chans;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ == State::kRunning)
      return invalid_argument("start: the pipeline is already running");
    chans = channels_;
  }
  stopping_ = false;
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
  batcher_ = std::thread([this] { batcher_loop(); });
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
  return Status::ok();
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
  if (batcher_.joinable()) batcher_.join();
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
}

Status Pipeline::Impl::stop(bool drain) {
  if (in_callback_thread()) {
    return invalid_argument(
        "stop: called from a pipeline callback, it would wait for that callback to return; "
        "call it from another thread");
  }
  std::unique_lock<std::timed_mutex> control(control_mu_);
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
  std::lock_guard<std::mutex> lock(mu_);
  state_ = State::kStopped;
  stopping_ = false;
  return Status::ok();
}

void Pipeline::Impl::shutdown() {
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
  std::lock_guard<std::mutex> lock(mu_);
  state_ = State::kStopped;
}

Status Pipeline::Impl::add_channel(const std::string& json) {
  VAS_ASSIGN_OR_RETURN(ChannelConfig c, parse_channel_config(json, "channel", cfg_.inference));
  std::unique_lock<std::timed_mutex> control;
  VAS_RETURN_IF_ERROR(lock_control(&control));
  if (find(c.id)) return invalid_argument("add_channel: channel '" + c.id + "' already exists");
  VAS_ASSIGN_OR_RETURN(ChannelPtr ch, make_channel(std::move(c)));
  bool running;
  {
    std::lock_guard<std::mutex> lock(mu_);
    channels_.push_back(ch);
    running = state_ == State::kRunning;
  }
  if (running) {
    Status s = start_channel(ch);
    if (!s.is_ok()) {
      close_channel(ch, DropReason::kRemoved);
      std::lock_guard<std::mutex> lock(mu_);
      channels_.erase(std::find(channels_.begin(), channels_.end(), ch));
      return s;
    }
  }
  return Status::ok();
}

Status Pipeline::Impl::remove_channel(const std::string& id) {
  if (in_callback_thread()) {
    return invalid_argument("remove_channel('" + id +
                            "'): called from a pipeline callback; call it from another thread");
  }
  std::unique_lock<std::timed_mutex> control(control_mu_);
  ChannelPtr ch = find(id);
  if (!ch) return not_found("remove_channel: no channel '" + id + "'");
  {
    std::lock_guard<std::mutex> lock(mu_);
    channels_.erase(std::find(channels_.begin(), channels_.end(), ch));
  }
  close_channel(ch, DropReason::kRemoved);
  return Status::ok();
}

Status Pipeline::Impl::update_rules(const std::string& id, const std::string& rules_json) {
  ChannelPtr chp = find(id);
  if (!chp) return not_found("update_rules: no channel '" + id + "'");
  Channel& ch = *chp;
  auto parsed = parse_rules_config(rules_json);
  if (!parsed.is_ok()) return parsed.status().with_context("update_rules: channel '" + id + "'");
  const RulesConfig rules = std::move(parsed).value();
  if (!rules.channel.empty() && rules.channel != id) {
    return invalid_config("update_rules: channel '" + id + "': the rules name channel '" +
                          rules.channel + "'");
  }
  if (tl_channel == &ch) {  // from this channel's own callback: the worker is us
    VAS_RETURN_IF_ERROR(ch.analytics->update_rules(rules).with_context("channel '" + id + "'"));
    std::lock_guard<std::mutex> lock(ch.mu);
    ch.rules_override = rules;
    return Status::ok();
  }
  // Any other thread: the channel's worker applies them before its next frame. Waiting here
  // for the worker to let go could starve behind a busy channel (it is rescheduled as soon as
  // it has a frame), and from another channel's callback it could wait for a worker that
  // waits for us. The rules were validated above; the analytics' own checks cannot fail on a
  // parsed rule set of this channel, and if they do the worker reports an "error" event.
  std::lock_guard<std::mutex> lock(ch.mu);
  ch.pending_rules = rules;
  ch.has_pending_rules = true;
  ch.rules_override = rules;
  if (ch.accepting) maybe_schedule_locked(ch);
  return Status::ok();
}

// ----------------------------------------------------------------------------------------------
// Batcher: the only place where channels meet. It takes at most one frame per channel per
// round (round-robin), so a busy channel cannot starve the others, and it never waits on a
// channel: an empty or stuck channel is simply skipped.

void Pipeline::Impl::notify_batcher() {
  {
    std::lock_guard<std::mutex> lock(bmu_);
    ++work_seq_;
  }
  bcv_.notify_one();
}

size_t Pipeline::Impl::collect(std::vector<std::pair<ChannelPtr, SlotPtr>>* batch, size_t rr) {
  std::vector<ChannelPtr> chans;
  {
    std::lock_guard<std::mutex> lock(mu_);
    chans = channels_;
  }
  const size_t n = chans.size();
  const size_t max_batch = static_cast<size_t>(cfg_.inference.max_batch);
  if (n == 0) return 0;
  bool progress = true;
  while (batch->size() < max_batch && progress) {
    progress = false;
    for (size_t i = 0; i < n && batch->size() < max_batch; ++i) {
      const ChannelPtr& ch = chans[(rr + i) % n];
      std::lock_guard<std::mutex> lock(ch->mu);
      for (const SlotPtr& s : ch->q) {
        if (s->state != SlotState::kWaiting) continue;
        s->state = SlotState::kInBatch;
        --ch->queued;
        ++ch->in_batch;
        batch->emplace_back(ch, s);
        progress = true;
        ch->cv.notify_all();  // queue space for a blocked producer
        break;
      }
    }
  }
  return (rr + 1) % n;
}

void Pipeline::Impl::run_batch(std::vector<std::pair<ChannelPtr, SlotPtr>>* batch) {
  std::vector<ImageView> images;
  images.reserve(batch->size());
  for (const auto& b : *batch) images.push_back(b.second->frame.view);
  std::vector<std::vector<Detection>> outs;
  const Status st = detector_->detect_batch(images, &outs);
  const int64_t now = steady_us();
  batches_++;
  batch_frames_ += batch->size();
  infer_rate_.add(batch->size());
  for (size_t i = 0; i < batch->size(); ++i) {
    Channel& ch = *(*batch)[i].first;
    // Taken out of the batch so that the frame goes back to its pool as soon as the worker
    // is done with it, not when the whole batch is.
    const SlotPtr sp = std::move((*batch)[i].second);
    Slot& slot = *sp;
    infer_lat_.add(static_cast<double>(now - slot.queued_us) / 1000.0);
    std::lock_guard<std::mutex> lock(ch.mu);
    --ch.in_batch;
    if (ch.discard) {  // stopped or removed meanwhile
      auto it = std::find(ch.q.begin(), ch.q.end(), sp);
      if (it != ch.q.end()) ch.q.erase(it);
      ch.count_drop(ch.discard_reason);
      ch.cv.notify_all();
      continue;
    }
    if (st.is_ok() && i < outs.size()) {
      slot.dets = std::move(outs[i]);
    } else {
      slot.error = st.is_ok() ? "detector returned too few results" : st.message();
    }
    slot.state = SlotState::kReady;
    slot.ready_us = now;
    ++ch.queued;
    maybe_schedule_locked(ch);
  }
}

void Pipeline::Impl::batcher_loop() {
  std::vector<std::pair<ChannelPtr, SlotPtr>> batch;
  const size_t max_batch = static_cast<size_t>(cfg_.inference.max_batch);
  const int64_t max_wait_us = int64_t{cfg_.inference.max_wait_ms} * 1000;
  size_t rr = 0;
  uint64_t seen = 0;
  bool more = false;  // the last round may have left frames behind: look again without waiting
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(bmu_);
      if (!more)
        bcv_.wait_for(lock, std::chrono::milliseconds(100),
                      [&] { return bstop_ || work_seq_ != seen; });
      if (bstop_) break;
      seen = work_seq_;
    }
    rr = collect(&batch, rr);
    more = !batch.empty();
    if (batch.empty()) continue;
    // Wait for a fuller batch, but never longer than max_wait after the oldest frame queued.
    const int64_t deadline = batch.front().second->queued_us + max_wait_us;
    while (batch.size() < max_batch) {
      std::unique_lock<std::mutex> lock(bmu_);
      const int64_t now = steady_us();
      if (now >= deadline || bstop_) break;
      bcv_.wait_for(lock, std::chrono::microseconds(deadline - now),
                    [&] { return bstop_ || work_seq_ != seen; });
      seen = work_seq_;
      lock.unlock();
      rr = collect(&batch, rr);
    }
    run_batch(&batch);
    batch.clear();
  }
}

// ----------------------------------------------------------------------------------------------
// Analytics workers: a channel is on the run queue at most once and processed by one worker
// at a time (its `scheduled` flag), so its analytics need no lock and its callbacks come in
// frame order. A worker gives the channel up after a few frames so others get their turn.

void Pipeline::Impl::maybe_schedule_locked(Channel& ch) {
  if (ch.scheduled) return;
  const bool front_ready = !ch.q.empty() && ch.q.front()->state == SlotState::kReady;
  const bool flush_due = ch.flush_requested && !ch.flushed && ch.q.empty() && ch.in_batch == 0;
  if (!front_ready && !flush_due && ch.pending_events.empty() && !ch.has_pending_rules) return;
  ch.scheduled = true;
  {
    std::lock_guard<std::mutex> lock(wmu_);
    runq_.push_back(ch.shared_from_this());
  }
  wcv_.notify_one();
}

void Pipeline::Impl::worker_loop() {
  for (;;) {
    ChannelPtr ch;
    {
      std::unique_lock<std::mutex> lock(wmu_);
      wcv_.wait(lock, [&] { return wstop_ || !runq_.empty(); });  // wstop_ is the stop signal
      if (wstop_) break;
      ch = std::move(runq_.front());
      runq_.pop_front();
    }
    process_channel(ch);
  }
}

void Pipeline::Impl::emit_event(Channel& ch, const PipelineEvent& ev) {
  ch.events++;
  if (!on_event_) return;
  try {
    on_event_(ev);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vasdk: event callback of channel '%s' threw: %s\n", ch.cfg.id.c_str(),
                 e.what());
  } catch (...) {
    std::fprintf(stderr, "vasdk: event callback of channel '%s' threw\n", ch.cfg.id.c_str());
  }
}

void Pipeline::Impl::deliver_output(Channel& ch, const Slot* slot, bool detected) {
  const AnalyticsOutput& out = ch.out;
  if (slot) {
    FrameResult& r = ch.result;
    r.channel = ch.cfg.id;
    r.frame = slot->frame.index;
    r.pts_us = slot->frame.pts_us;
    r.capture_us = slot->frame.capture_us;
    r.ts_us = slot->frame.ts_us;
    r.detected = detected;
    r.objects.clear();
    // Confirmed tracks only, as the rules see them by default: tentative tracks may be noise
    // and lost ones are not visible on this frame.
    for (const TrackedObject& t : out.tracks) {
      if (t.state == TrackState::kConfirmed) r.objects.push_back(to_object(t));
    }
    if (on_result_) {
      try {
        on_result_(r);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "vasdk: result callback of channel '%s' threw: %s\n",
                     ch.cfg.id.c_str(), e.what());
      } catch (...) {
        std::fprintf(stderr, "vasdk: result callback of channel '%s' threw\n", ch.cfg.id.c_str());
      }
    }
  }
  // Per frame: track starts, rule events, best shots, then track ends, so a consumer always
  // sees a track start before anything about it and its end last.
  auto track_event = [&](const TrackEvent& t) {
    PipelineEvent ev;
    ev.channel = ch.cfg.id;
    ev.kind = t.kind == TrackEventKind::kStart ? "track_start" : "track_end";
    ev.track_id = t.track_id;
    ev.class_id = t.class_id;
    ev.ts_us = t.timestamp_us;
    emit_event(ch, ev);
  };
  for (const TrackEvent& t : out.track_events) {
    if (t.kind == TrackEventKind::kStart) track_event(t);
  }
  for (const Event& e : out.events) {
    PipelineEvent ev;
    ev.channel = ch.cfg.id;
    ev.kind = "rule";
    ev.subkind = event_kind_name(e.kind);
    ev.rule_id = e.rule_id;
    ev.track_id = e.track_id;
    ev.class_id = e.class_id;
    ev.ts_us = e.timestamp_us;
    ev.best_shot_id = e.best_shot_id;
    if (e.kind == EventKind::kCrowdingStart || e.kind == EventKind::kCrowdingEnd) {
      ev.message = "count " + std::to_string(e.count);
    }
    emit_event(ch, ev);
  }
  for (const BestShotRecord* rec : out.best_shots) {
    if (!rec || rec->crops.empty()) continue;
    const BestShotCrop& crop = rec->crops.front();  // best first
    PipelineEvent ev;
    ev.channel = ch.cfg.id;
    ev.kind = "best_shot";
    ev.subkind = rec->reason == BestShotReason::kTrackEnded ? "track_ended"
                 : rec->reason == BestShotReason::kInterval ? "interval"
                                                            : "flush";
    ev.track_id = rec->track_id;
    ev.class_id = rec->class_id;
    ev.ts_us = rec->timestamp_us;
    ev.best_shot_id = crop.shot_id;
    ev.crop = crop.image;  // same thread as the selector: its unlocked pool allows this copy
    ev.jpeg = crop.jpeg;
    ev.quality = crop.quality.total;
    emit_event(ch, ev);
  }
  for (const TrackEvent& t : out.track_events) {
    if (t.kind == TrackEventKind::kEnd) track_event(t);
  }
}

void Pipeline::Impl::process_slot(Channel& ch, Slot& slot) {
  auto fail = [&](const std::string& stage, const std::string& msg) {
    ch.count_drop(DropReason::kError);
    PipelineEvent ev;
    ev.channel = ch.cfg.id;
    ev.kind = "error";
    ev.subkind = stage;
    ev.ts_us = slot.frame.ts_us;
    ev.message = "frame " + std::to_string(slot.frame.index) + ": " + msg;
    emit_event(ch, ev);
  };
  if (!slot.error.empty()) return fail("detection", slot.error);
  const int64_t ts = slot.frame.ts_us;
  const Status st = slot.detect ? ch.analytics->update(&slot.frame.view, slot.dets.data(),
                                                       slot.dets.size(), ts, &ch.out)
                                : ch.analytics->predict(&slot.frame.view, ts, &ch.out);
  if (!st.is_ok()) return fail("analytics", st.message());
  deliver_output(ch, &slot, slot.detect);
  const int64_t now = steady_us();
  ch.latency.add(static_cast<double>(wall_us() - slot.frame.capture_us) / 1000.0);
  analytics_lat_.add(static_cast<double>(now - slot.ready_us) / 1000.0);
  ch.rate.add();
  analytics_rate_.add();
  ch.processed++;
}

void Pipeline::Impl::process_channel(const ChannelPtr& chp) {
  Channel& ch = *chp;
  CallbackScope scope(this, &ch);
  for (int turn = 0; turn < 4; ++turn) {
    std::vector<PipelineEvent> evs;
    RulesConfig rules;
    bool has_rules = false, flush = false;
    SlotPtr slot;
    {
      std::lock_guard<std::mutex> lock(ch.mu);
      evs.swap(ch.pending_events);
      if (ch.has_pending_rules) {
        rules = std::move(ch.pending_rules);
        has_rules = true;
        ch.has_pending_rules = false;
      }
      if (!ch.q.empty() && ch.q.front()->state == SlotState::kReady) {
        slot = ch.q.front();
        slot->state = SlotState::kProcessing;
        --ch.queued;
      } else if (ch.flush_requested && !ch.flushed && ch.q.empty() && ch.in_batch == 0) {
        flush = true;
        ch.flushed = true;
      }
    }
    for (const auto& ev : evs) emit_event(ch, ev);
    if (has_rules) {
      Status s = ch.analytics->update_rules(rules);
      if (!s.is_ok()) {
        PipelineEvent ev;
        ev.channel = ch.cfg.id;
        ev.kind = "error";
        ev.subkind = "rules";
        ev.message = s.message();
        emit_event(ch, ev);
      }
    }
    if (slot) {
      process_slot(ch, *slot);
      std::lock_guard<std::mutex> lock(ch.mu);
      ch.q.pop_front();  // still the front: drops never take a slot being processed
      ch.cv.notify_all();
    } else if (flush) {
      int64_t ts;
      {
        std::lock_guard<std::mutex> lock(ch.mu);
        ts = ch.last_ts_us == INT64_MIN ? 0 : ch.last_ts_us;
      }
      if (ch.analytics->flush(ts, &ch.out).is_ok()) deliver_output(ch, nullptr, false);
      std::lock_guard<std::mutex> lock(ch.mu);
      ch.cv.notify_all();
    } else if (evs.empty() && !has_rules) {
      break;
    }
  }
  std::lock_guard<std::mutex> lock(ch.mu);
  ch.scheduled = false;
  maybe_schedule_locked(ch);
  ch.cv.notify_all();
}

// ----------------------------------------------------------------------------------------------
// Stats.

PipelineStats Pipeline::Impl::stats() const {
  PipelineStats s;
  std::vector<ChannelPtr> chans;
  {
    std::lock_guard<std::mutex> lock(mu_);
    chans = channels_;
  }
  size_t waiting = 0, ready = 0;
  for (const auto& chp : chans) {
    Channel& ch = *chp;
    ChannelStats c;
    c.id = ch.cfg.id;
    {
      std::lock_guard<std::mutex> lock(ch.mu);
      c.state = ch.state;
      c.queue_depth = ch.queued;
      for (const auto& sl : ch.q) {
        if (sl->state == SlotState::kWaiting) ++waiting;
        if (sl->state == SlotState::kReady) ++ready;
      }
    }
    // Read dropped before decoded: a frame counted in between is then never missing from both.
    for (int r = 0; r < kDropReasons; ++r) {
      const uint64_t n = ch.dropped[static_cast<size_t>(r)].load();
      c.dropped_by_reason[drop_reason_name(static_cast<DropReason>(r))] = n;
      c.dropped += n;
    }
    c.processed = ch.processed;
    c.decoded = ch.decoded;
    c.reconnects = ch.reconnects;
    c.events = ch.events;
    c.fps = ch.rate.rate();
    ch.latency.percentiles(&c.latency_p50_ms, &c.latency_p99_ms);
    {
      std::lock_guard<std::mutex> lock(ch.pool_mu);
      if (ch.pool) {
        const PoolStats ps = ch.pool->stats();
        c.pool_in_use_bytes = ps.in_use_bytes;
        c.pool_capacity_bytes = ps.capacity_bytes;
      }
    }
    s.channels.push_back(std::move(c));
  }
  s.decode.fps = decode_rate_.rate();
  decode_lat_.percentiles(&s.decode.latency_p50_ms, &s.decode.latency_p99_ms);
  s.inference.fps = infer_rate_.rate();
  infer_lat_.percentiles(&s.inference.latency_p50_ms, &s.inference.latency_p99_ms);
  s.inference.queue_depth = waiting;
  s.analytics.fps = analytics_rate_.rate();
  analytics_lat_.percentiles(&s.analytics.latency_p50_ms, &s.analytics.latency_p99_ms);
  s.analytics.queue_depth = ready;
  s.batches = batches_;
  s.batch_mean =
      s.batches ? static_cast<double>(batch_frames_) / static_cast<double>(s.batches) : 0;
  return s;
}

}  // namespace vas
