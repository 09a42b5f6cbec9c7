// Channels while the pipeline lives: adding, removing (also from callbacks, finished by the
// reaper) and live rule updates. Creation, start and stop are in pipeline.cpp.
#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

#include "core/log.h"
#include "pipeline/pipeline_impl.h"
#include "pipeline/sink_messages.h"

namespace vas {

Status Pipeline::Impl::add_channel(const std::string& json) {
  VAS_ASSIGN_OR_RETURN(ChannelConfig c, parse_channel_config(json, "channel", cfg_.inference));
  return add_parsed_channel(std::move(c));
}

Status Pipeline::Impl::add_parsed_channel(ChannelConfig c) {
  std::unique_lock<std::timed_mutex> control;
  VAS_RETURN_IF_ERROR(lock_control(&control));
  // From a callback the removals cannot be waited for: a channel on its way out is reported.
  if (!in_callback_thread()) finish_removals_locked();
  if (ChannelPtr old = find(c.id)) {
    std::lock_guard<std::mutex> lock(old->mu);
    return invalid_argument("add_channel: channel '" + c.id + "' " +
                            (old->remove_requested ? "is being removed; add it again once its "
                                                     "\"channel\"/\"removed\" event has come"
                                                   : "already exists"));
  }
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

Status Pipeline::Impl::remove_channel(const std::string& id, ChannelStats* final_stats) {
  if (in_callback_thread()) {
    // Closing a channel waits for its worker, which may be waiting for this callback's own
    // worker: stop its intake now and let the reaper finish, outside every callback.
    ChannelPtr ch = find(id);
    if (!ch) return not_found("remove_channel: no channel '" + id + "'");
    if (tl_channel == ch.get()) {
      return invalid_argument("remove_channel('" + id +
                              "'): called from that channel's own callback; call it from "
                              "another thread or another channel's callback");
    }
    {
      std::lock_guard<std::mutex> lock(ch->mu);
      if (ch->remove_requested) return Status::ok();
      ch->remove_requested = true;
      ch->accepting = false;
      ch->discard = true;
      ch->discard_reason = DropReason::kRemoved;
      ch->cv.notify_all();
    }
    ch->decode_stop = true;
    {
      std::lock_guard<std::mutex> lock(ch->source_mu);
      if (ch->source) ch->source->interrupt();
    }
    tl_removals.push_back(std::move(ch));  // to the reaper once this callback returns
    return Status::ok();
  }
  std::unique_lock<std::timed_mutex> control(control_mu_);
  for (ChannelStats& done : finish_removals_locked()) {
    if (done.id != id) continue;
    if (final_stats) *final_stats = std::move(done);  // asked for from a callback: done now
    return Status::ok();
  }
  ChannelPtr ch = find(id);
  if (!ch) return not_found("remove_channel: no channel '" + id + "'");
  const ChannelStats last = remove_locked(ch);
  if (final_stats) *final_stats = last;
  return Status::ok();
}

ChannelStats Pipeline::Impl::remove_locked(const ChannelPtr& ch) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find(channels_.begin(), channels_.end(), ch);
    if (it != channels_.end()) channels_.erase(it);
  }
  close_channel(ch, DropReason::kRemoved);
  size_t waiting = 0, ready = 0;
  ChannelStats last = channel_stats(*ch, &waiting, &ready);
  // Nothing of the channel runs any more: its last event comes from this thread, marked as
  // one of its callbacks so that it cannot wait for itself.
  PipelineEvent ev;
  ev.channel = ch->cfg.id;
  ev.kind = "channel";
  ev.subkind = "removed";
  {
    std::lock_guard<std::mutex> lock(ch->mu);
    ev.ts_us = ch->last_ts_us == INT64_MIN ? 0 : ch->last_ts_us;
  }
  ++last.events;  // this event itself
  ev.message =
      channel_stats_json(last).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  {
    CallbackScope scope(this, ch.get());
    emit_event(*ch, ev);
  }
  return last;
}

std::vector<ChannelStats> Pipeline::Impl::finish_removals_locked() {
  std::vector<ChannelPtr> chans;
  {
    std::lock_guard<std::mutex> lock(reap_mu_);
    chans.swap(to_reap_);
  }
  std::vector<ChannelStats> done;
  done.reserve(chans.size());
  for (const auto& ch : chans) done.push_back(remove_locked(ch));
  return done;
}

void Pipeline::Impl::queue_removals(std::vector<ChannelPtr> chans) {
  std::lock_guard<std::mutex> lock(reap_mu_);
  for (auto& ch : chans) to_reap_.push_back(std::move(ch));
  // After stop_reaper() (stop, shutdown) the caller finishes them once the workers are joined.
  if (!reaper_.joinable() && !reap_stop_) {
    reaper_ = std::thread([self = shared_from_this()] { self->reaper_loop(); });
  }
  reap_cv_.notify_all();
}

void Pipeline::Impl::reaper_loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(reap_mu_);
      reap_cv_.wait(lock, [&] { return reap_stop_ || !to_reap_.empty(); });
      if (reap_stop_) return;
    }
    // stop() may hold control_mu_ and finish these removals itself: keep checking.
    std::unique_lock<std::timed_mutex> control(control_mu_, std::defer_lock);
    while (!control.try_lock_for(std::chrono::milliseconds(20))) {
      std::lock_guard<std::mutex> lock(reap_mu_);
      if (reap_stop_) return;
    }
    finish_removals_locked();
  }
}

void Pipeline::Impl::stop_reaper() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lock(reap_mu_);
    reap_stop_ = true;
    t = std::move(reaper_);
  }
  reap_cv_.notify_all();
  if (!t.joinable()) return;
  if (t.get_id() == std::this_thread::get_id() || in_callback_thread()) {
    // Destroyed from a callback: the reaper may be waiting for this very worker. It holds the
    // Impl and exits on reap_stop_ once it gets there.
    t.detach();
  } else {
    t.join();
  }
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

}  // namespace vas
