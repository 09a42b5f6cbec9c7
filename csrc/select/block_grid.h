// Corrupt macroblocks seen on the codec's block grid. A decoder that follows a corrupt motion
// vector pastes a 16x16 block of the scene from the wrong place: its colours are the scene's
// own and its inside is as smooth as any texture, so no colour or fingerprint test sees it. What
// gives it away is its border: the luma steps across the block's sides, which lie on the
// frame's 16-pixel grid, far above the steps just inside them. Real images have such steps too
// (an edge that happens to fall on a grid line, blocky low-rate video), so a step counts only
// when the same place of the frame is smooth in a neighbouring observation of the same track,
// and a block only when two of its sides break that way.
#pragma once

#include "select/quality.h"

namespace vas {

// The number of 16x16 blocks of the frame's grid, near `cur`'s stored area, with at least two
// sides broken in `cur` (mean luma step across the side >= kBlockStep levels and >= kBlockRatio
// times the steps beside it, over at least kBlockMinRun pixels) and not broken, by half those
// thresholds, in any reference that stored the same side. A side no reference stored says
// nothing. 0 without a valid `a`.
int novel_blocks(const CropPixels& cur, const CropPixels& a, const CropPixels* b);

inline constexpr int kBlockGrid = 16;
inline constexpr float kBlockStep = 12.0f;
inline constexpr float kBlockRatio = 3.0f;
inline constexpr int kBlockMinRun = 6;

}  // namespace vas
