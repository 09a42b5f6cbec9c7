// FFmpeg's process-wide logging, routed once through vasdk's log sink (core/log.h), so that an
// application that sets vas_set_log_callback() receives FFmpeg's messages too, and nothing
// goes raw to stderr. FFmpeg errors arrive as warnings: the reader reports damage itself.
#pragma once

namespace vas {

// Idempotent and thread-safe. Also lowers FFmpeg's level from its INFO default to ERROR,
// unless the application chose a level of its own.
void route_ffmpeg_logs();

}  // namespace vas
