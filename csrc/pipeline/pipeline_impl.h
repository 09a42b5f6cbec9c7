// Internal: Pipeline::Impl, shared by pipeline.cpp (control, batcher, workers) and
// channel_io.cpp (decode threads, pushed frames, queue admission).
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "pipeline/channel.h"
#include "pipeline/detector_stage.h"
#include "pipeline/pipeline.h"
#include "pipeline/pipeline_config.h"
#include "pipeline/stats_window.h"
#include "sinks/sink_set.h"

namespace vas {

// The pipeline whose callback this thread is running now, and the channel (see pipeline.cpp).
extern thread_local const Pipeline::Impl* tl_owner;
extern thread_local const Channel* tl_channel;
// Removals asked for by the callback this thread runs now (CallbackScope hands them over).
extern thread_local std::vector<ChannelPtr> tl_removals;

// Marks the current thread as running `c`'s callbacks for as long as it lives. Removals the
// callbacks ask for are handed to the reaper when it ends, so that they finish after the
// callback returns, as the header promises (see Pipeline::Impl::remove_channel).
struct CallbackScope {
  CallbackScope(Pipeline::Impl* p, const Channel* c);
  ~CallbackScope();
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;

 private:
  Pipeline::Impl* owner_;
  const Pipeline::Impl* prev_owner_;
  const Channel* prev_channel_;
  std::vector<ChannelPtr> outer_removals_;  // an enclosing scope's, of maybe another pipeline
};

class Pipeline::Impl : public std::enable_shared_from_this<Pipeline::Impl> {
 public:
  Impl(PipelineConfig cfg, std::unique_ptr<DetectorStage> detector)
      : cfg_(std::move(cfg)), detector_(std::move(detector)) {}
  ~Impl();

  Status add_channel_config(ChannelConfig c);  // create(): before start
  Status set_result_callback(std::function<void(const FrameResult&)> cb);
  Status set_event_callback(std::function<void(const PipelineEvent&)> cb);
  Status start();
  Status stop(bool drain);
  Status add_channel(const std::string& json);
  Status remove_channel(const std::string& id, ChannelStats* final_stats = nullptr);
  Status update_rules(const std::string& id, const std::string& rules_json);
  Status push_frame(const std::string& id, const ImageView& image, int64_t pts_us,
                    std::function<void()> release);
  PipelineStats stats() const;
  bool in_callback_thread() const;
  Status live_watch(const std::string& id, bool on);  // channel_annotate.cpp
  Result<LiveFrame> live_frame(const std::string& id, uint64_t after_seq, int timeout_ms);
  // The destructor's path: stop without drain; from a callback thread the caller's own
  // worker is detached instead of joined (see pipeline.h).
  void shutdown();

 private:
  enum class State { kCreated, kRunning, kStopping, kStopped };

  // --- control (pipeline.cpp) ---
  // Takes control_mu_; from a callback thread it gives up (kInvalidArgument) while a stop is
  // in progress, because that stop may be waiting for this very callback to return.
  Status lock_control(std::unique_lock<std::timed_mutex>* lock);
  ChannelPtr find(const std::string& id) const;
  Result<ChannelPtr> make_channel(ChannelConfig c);
  Status start_channel(const ChannelPtr& ch);
  // Stops intake, drops queued frames for `reason`, joins the decode thread and waits until
  // nothing of the channel is in flight.
  void close_channel(const ChannelPtr& ch, DropReason reason);
  void wait_idle(const ChannelPtr& ch, bool need_empty);
  void stop_threads();
  // add_channel() after parsing.
  Status add_parsed_channel(ChannelConfig c);
  // Under control_mu_: takes `ch` out of the pipeline, closes it and emits its last event
  // ("channel"/"removed", the final counters) on this thread.
  ChannelStats remove_locked(const ChannelPtr& ch);
  // Under control_mu_, never on a callback thread: finishes the removals asked for from
  // callbacks and returns their final counters.
  std::vector<ChannelStats> finish_removals_locked();
  // The thread that finishes removals asked for from callbacks (they cannot wait for them).
  void reaper_loop();
  void queue_removals(std::vector<ChannelPtr> chans);  // for the reaper
  friend struct CallbackScope;
  void stop_reaper();
  ChannelStats channel_stats(Channel& ch, size_t* waiting, size_t* ready) const;

  // --- scale-out (pipeline.cpp): the consumer group's assign and revoke, on its thread ---
  void cluster_assign(const std::vector<int>& partitions);
  void cluster_revoke(const std::vector<int>& partitions);
  // Leaves the group: the revoke callback removes this node's cluster channels. Before
  // control_mu_, which the revoke path takes.
  void stop_cluster();

 public:
  // A sink lost or regained its broker or file: a "sink" event (channel "") to the callback,
  // on that sink's thread, and to the other sinks.
  void sink_event(const SinkEvent& e);
  void deliver_sink_event_locked(const PipelineEvent& ev);  // under sink_event_mu_

 private:
  // --- batcher and workers (pipeline.cpp) ---
  void batcher_loop(int lane);
  size_t collect(std::vector<std::pair<ChannelPtr, SlotPtr>>* batch, size_t rr);
  void run_batch(int lane, std::vector<std::pair<ChannelPtr, SlotPtr>>* batch);
  void worker_loop();
  void process_channel(const ChannelPtr& ch);
  void process_slot(Channel& ch, Slot& slot);
  // Before analysing `slot`: a reconnect or a media-time jump since the last frame ends the
  // channel's tracks (Analytics::end_tracks) and delivers their end events.
  void end_tracks_at_gap(Channel& ch, const Slot& slot);
  void deliver_output(Channel& ch, const Slot* slot, bool detected);
  // channel_annotate.cpp: the annotated video, and the live view while it is watched.
  void annotate(Channel& ch, const Slot& slot);
  // Stamps ev.wall_us, publishes it to the sinks and calls the event callback.
  void emit_event(Channel& ch, PipelineEvent& ev);

 public:
  // --- used by channel_io.cpp ---
  void decode_loop(const ChannelPtr& ch);
  // Queues a frame under the channel's policy; the frame is counted as decoded here. False
  // when the frame was dropped instead (counted, and *dropped_for set when given).
  bool admit(const ChannelPtr& ch, VideoFrame frame, DropReason* dropped_for = nullptr);
  // push_frame's admit: kPoolExhausted when drop_newest dropped the frame, naming why.
  Status admitted(const ChannelPtr& ch, VideoFrame frame);
  // Under ch.mu: puts the channel on the run queue when its front slot is ready or it has
  // events or a flush to deliver.
  void maybe_schedule_locked(Channel& ch);
  void notify_batcher();
  // Under ch.mu: removes the oldest queued (waiting or ready) slot; false if there is none.
  bool drop_oldest_locked(Channel& ch, DropReason reason);
  void queue_source_event(Channel& ch, PipelineEvent ev);

  PipelineConfig cfg_;
  std::unique_ptr<DetectorStage> detector_;
  // Results and events also go here (never blocks: each sink has its own bounded outbox).
  std::unique_ptr<SinkSet> sinks_;
  std::function<void(const FrameResult&)> on_result_;
  std::function<void(const PipelineEvent&)> on_event_;

  std::timed_mutex control_mu_;  // start/stop/add/remove, one at a time
  std::mutex cluster_mu_;        // member_
  std::unique_ptr<ClusterMember> member_;
  // Set by shutdown(): the member's callbacks then leave the channels to shutdown() (a destroy
  // from a channel's own callback must not wait for that channel through the member's thread).
  std::atomic<bool> cluster_closing_{false};
  std::mutex sink_event_mu_;  // on_event_ from a sink's thread vs. shutdown
  bool stopping_sinks_ = false;
  bool sink_events_live_ = false;  // set by the first start()
  std::vector<PipelineEvent> early_sink_events_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;  // channels_ and state_
  std::vector<ChannelPtr> channels_;
  State state_ = State::kCreated;

  // Batcher.
  std::vector<std::thread> batchers_;  // one per inference lane (DetectorStage::lanes())
  std::mutex bmu_;
  std::condition_variable bcv_;
  bool bstop_ = false;
  uint64_t work_seq_ = 0;  // bumped when a frame starts waiting for detection

  // Analytics workers.
  std::vector<std::thread> workers_;
  std::mutex wmu_;
  std::condition_variable wcv_;
  std::deque<ChannelPtr> runq_;
  bool wstop_ = false;

  // Removals asked for from a callback; reaper_ (started on the first) finishes them under
  // control_mu_, or stop()/shutdown() do when they hold it first.
  std::mutex reap_mu_;
  std::condition_variable reap_cv_;
  std::vector<ChannelPtr> to_reap_;
  bool reap_stop_ = false;
  std::thread reaper_;

  // Stage stats.
  RateMeter decode_rate_, infer_rate_, analytics_rate_;
  LatencyWindow decode_lat_, infer_lat_, analytics_lat_;
  std::atomic<uint64_t> batches_{0}, batch_frames_{0};
  // CPU accounting since start() (CpuStats): ns per stage, frames delivered, and the process
  // clock at start and at stop (0 while running).
  enum CpuStage {
    kCpuDecode,
    kCpuPreprocess,
    kCpuInference,
    kCpuPostprocess,
    kCpuAnalytics,
    kCpuDelivery,
    kCpuAnnotate,
    kCpuStages
  };
  std::array<std::atomic<uint64_t>, kCpuStages> cpu_ns_{};
  std::atomic<uint64_t> cpu_frames_{0};
  std::atomic<uint64_t> process_cpu_start_ns_{0}, process_cpu_stop_ns_{0};
  // Per lane: its batcher thread only (and start(), before the batchers run).
  std::vector<DetectorStage::CpuNs> detector_cpu_seen_;
  void add_cpu(CpuStage stage, uint64_t ns) {
    cpu_ns_[stage].fetch_add(ns, std::memory_order_relaxed);
  }
};

}  // namespace vas
