// The pipeline's stages: the shared batcher, the analytics workers (results and events to the
// callbacks) and stats. Control (start, stop, channels) is in pipeline.cpp.
#include <algorithm>
#include <cstdio>
#include <exception>

#include "core/cpu_time.h"
#include "pipeline/pipeline_impl.h"
#include "pipeline/sink_messages.h"

namespace vas {
namespace {

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
// Batchers, one per inference lane: the only place where channels meet. Each takes at most
// one frame per channel per round (round-robin), so a busy channel cannot starve the others,
// and never waits on a channel: an empty or stuck channel is simply skipped. Lanes run their
// batches at once; a channel's frames may finish out of order, and its analytics still take
// them in order (the front of its queue must be ready).

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

void Pipeline::Impl::run_batch(int lane, std::vector<std::pair<ChannelPtr, SlotPtr>>* batch) {
  std::vector<ImageView> images;
  images.reserve(batch->size());
  for (const auto& b : *batch) images.push_back(b.second->frame.view);
  std::vector<std::vector<Detection>> outs;
  const Status st = detector_->detect_batch(lane, images, &outs);
  const DetectorStage::CpuNs cpu = detector_->cpu_ns(lane);
  DetectorStage::CpuNs& seen = detector_cpu_seen_[static_cast<size_t>(lane)];
  add_cpu(kCpuPreprocess, cpu.preprocess - seen.preprocess);
  add_cpu(kCpuInference, cpu.inference - seen.inference);
  add_cpu(kCpuPostprocess, cpu.postprocess - seen.postprocess);
  seen = cpu;
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

void Pipeline::Impl::batcher_loop(int lane) {
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
    run_batch(lane, &batch);
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

void Pipeline::Impl::emit_event(Channel& ch, PipelineEvent& ev) {
  ch.events++;
  ev.wall_us = wall_clock_us();
  if (ev.kind == "source") {
    // Its ts_us is the wall clock of the occurrence: place it after the last frame analysed.
    ev.media_us = ch.last_analysed_ts_us == INT64_MIN ? 0 : ch.last_analysed_ts_us;
  } else {
    ev.media_us = ev.ts_us;
  }
  if (sinks_) sinks_->publish(to_sink_message(ev, cfg_.node_id));
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
    if (sinks_) sinks_->publish(to_sink_message(r, cfg_.node_id, wall_clock_us()));
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
    ev.subkind = track_end_reason_name(t.reason);
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
    ch.rule_event_counts[e.rule_id]++;
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

void Pipeline::Impl::end_tracks_at_gap(Channel& ch, const Slot& slot) {
  const int64_t ts = slot.frame.ts_us;
  const int64_t last = ch.last_analysed_ts_us;
  const bool reconnected = slot.epoch != ch.last_epoch;
  const bool jumped = ch.cfg.max_gap_s > 0 && last != INT64_MIN &&
                      static_cast<double>(ts - last) > ch.cfg.max_gap_s * 1e6;
  ch.last_epoch = slot.epoch;
  ch.last_analysed_ts_us = ts;
  if (last == INT64_MIN || (!reconnected && !jumped)) return;
  // The tracks end when they were last seen, before the gap.
  const Status st = ch.analytics->end_tracks(last, &ch.out);
  if (st.is_ok()) {
    deliver_output(ch, nullptr, false);
  } else {
    PipelineEvent ev;
    ev.channel = ch.cfg.id;
    ev.kind = "error";
    ev.subkind = "analytics";
    ev.ts_us = ts;
    ev.message = "ending the tracks at a source gap: " + st.message();
    emit_event(ch, ev);
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
  const uint64_t cpu0 = thread_cpu_ns();
  end_tracks_at_gap(ch, slot);
  const Status st = slot.detect ? ch.analytics->update(&slot.frame.view, slot.dets.data(),
                                                       slot.dets.size(), ts, &ch.out)
                                : ch.analytics->predict(&slot.frame.view, ts, &ch.out);
  if (!st.is_ok()) return fail("analytics", st.message());
  const uint64_t cpu1 = thread_cpu_ns();
  deliver_output(ch, &slot, slot.detect);
  const uint64_t cpu2 = thread_cpu_ns();
  annotate(ch, slot);
  const uint64_t cpu3 = thread_cpu_ns();
  add_cpu(kCpuAnalytics, cpu1 - cpu0);
  add_cpu(kCpuDelivery, cpu2 - cpu1);
  add_cpu(kCpuAnnotate, cpu3 - cpu2);
  cpu_frames_.fetch_add(1, std::memory_order_relaxed);
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
    for (auto& ev : evs) emit_event(ch, ev);
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

ChannelStats Pipeline::Impl::channel_stats(Channel& ch, size_t* waiting, size_t* ready) const {
  ChannelStats c;
  c.id = ch.cfg.id;
  {
    std::lock_guard<std::mutex> lock(ch.mu);
    c.state = ch.state;
    c.queue_depth = ch.queued;
    for (const auto& sl : ch.q) {
      if (sl->state == SlotState::kWaiting) ++*waiting;
      if (sl->state == SlotState::kReady) ++*ready;
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
  c.live_viewers = ch.live->viewers();
  c.live_frames = ch.live->encoded();
  {
    std::lock_guard<std::mutex> lock(ch.pool_mu);
    if (ch.pool) {
      const PoolStats ps = ch.pool->stats();
      c.pool_in_use_bytes = ps.in_use_bytes;
      c.pool_reserved_bytes = ps.reserved_bytes;
      c.pool_capacity_bytes = ps.capacity_bytes;
    }
  }
  return c;
}

PipelineStats Pipeline::Impl::stats() const {
  PipelineStats s;
  std::vector<ChannelPtr> chans;
  {
    std::lock_guard<std::mutex> lock(mu_);
    chans = channels_;
  }
  size_t waiting = 0, ready = 0;
  for (const auto& chp : chans) s.channels.push_back(channel_stats(*chp, &waiting, &ready));
  s.decode.fps = decode_rate_.rate();
  decode_lat_.percentiles(&s.decode.latency_p50_ms, &s.decode.latency_p99_ms);
  s.inference.fps = infer_rate_.rate();
  infer_lat_.percentiles(&s.inference.latency_p50_ms, &s.inference.latency_p99_ms);
  s.inference.queue_depth = waiting;
  s.analytics.fps = analytics_rate_.rate();
  analytics_lat_.percentiles(&s.analytics.latency_p50_ms, &s.analytics.latency_p99_ms);
  s.analytics.queue_depth = ready;
  s.batches = batches_;
  s.inference_lanes = detector_->lanes();
  s.inference_max_batch = cfg_.inference.max_batch;
  s.inference_backend = detector_->backend();
  s.inference_notes = detector_->notes();
  if (sinks_) s.sinks = sinks_->stats();
  s.batch_mean =
      s.batches ? static_cast<double>(batch_frames_) / static_cast<double>(s.batches) : 0;
  CpuStats& c = s.cpu_ms_per_frame;
  c.frames = cpu_frames_.load();
  const uint64_t start = process_cpu_start_ns_.load(), stop = process_cpu_stop_ns_.load();
  if (c.frames > 0 && start > 0) {
    const double per = 1e-6 / static_cast<double>(c.frames);  // ns in all -> ms per frame
    auto stage = [&](CpuStage k) { return static_cast<double>(cpu_ns_[k].load()) * per; };
    c.decode = stage(kCpuDecode);
    c.preprocess = stage(kCpuPreprocess);
    c.inference = stage(kCpuInference);
    c.postprocess = stage(kCpuPostprocess);
    c.analytics = stage(kCpuAnalytics);
    c.delivery = stage(kCpuDelivery);
    c.annotate = stage(kCpuAnnotate);
    const uint64_t now = stop > 0 ? stop : process_cpu_ns();
    c.process = static_cast<double>(now > start ? now - start : 0) * per;
    const double own = c.decode + c.preprocess + c.inference + c.postprocess + c.analytics +
                       c.delivery + c.annotate;
    // The clocks are read at different moments; a small negative rest is rounding, not CPU.
    c.other = std::max(0.0, c.process - own);
  }
  return s;
}

}  // namespace vas
