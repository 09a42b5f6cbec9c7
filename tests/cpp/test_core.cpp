#include <gtest/gtest.h>

#include <vector>

#include "core/image.h"
#include "core/status.h"
#include "core/tensor.h"

namespace vas {
namespace {

Result<int> half(int v) {
  if (v % 2) return invalid_argument("odd value " + std::to_string(v));
  return v / 2;
}

Status quarter(int v, int* out) {
  VAS_ASSIGN_OR_RETURN(int h, half(v));
  VAS_ASSIGN_OR_RETURN(*out, half(h));
  return Status::ok();
}

TEST(Status, LongMessagesAreCutAtACharacterBoundary) {
  const std::string short_message = "bad value 'x'";
  EXPECT_EQ(invalid_config(short_message).message(), short_message);
  // A quoted input of 300 KB, with a two-byte character where the cut falls.
  std::string quoted = "got '" + std::string(Status::kMaxMessageBytes - 64 - 6, 'k') + "\xc3\xa9" +
                       std::string(300000, 'k') + "'";
  const Status st = invalid_config(quoted).with_context("detector options");
  EXPECT_LE(st.message().size(), Status::kMaxMessageBytes);
  EXPECT_EQ(st.message().rfind("detector options: got 'kkk", 0), 0u);
  EXPECT_NE(st.message().find(" more bytes cut)"), std::string::npos) << st.message();
  for (unsigned char c : st.message()) EXPECT_NE(c, 0xc3) << "a character was split";
}

TEST(Status, ResultCarriesValueOrError) {
  int out = 0;
  EXPECT_TRUE(quarter(8, &out).is_ok());
  EXPECT_EQ(out, 2);
  Status st = quarter(6, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "odd value 3");
  EXPECT_EQ(st.with_context("ctx").message(), "ctx: odd value 3");
  EXPECT_STREQ(status_code_name(StatusCode::kNotFound), "VAS_ERR_NOT_FOUND");
}

TEST(ImageView, ValidatesEveryField) {
  std::vector<uint8_t> buf(64 * 48 * 3);
  ImageView v = ImageView::packed(PixelFormat::kBGR24, 64, 48, buf.data(), 64 * 3);
  EXPECT_TRUE(v.validate().is_ok());

  ImageView bad = v;
  bad.width = 0;
  EXPECT_EQ(bad.validate().code(), StatusCode::kInvalidArgument);
  bad = v;
  bad.height = -3;
  EXPECT_NE(bad.validate().message().find("positive"), std::string::npos);
  bad = v;
  bad.strides[0] = 64 * 3 - 1;
  EXPECT_NE(bad.validate().message().find("stride"), std::string::npos);
  bad = v;
  bad.planes[0] = nullptr;
  EXPECT_NE(bad.validate().message().find("NULL"), std::string::npos);
  bad = v;
  bad.format = static_cast<PixelFormat>(42);
  EXPECT_NE(bad.validate().message().find("unknown pixel format"), std::string::npos);

  ImageView nv12;
  nv12.format = PixelFormat::kNV12;
  nv12.width = 63;
  nv12.height = 48;
  nv12.planes[0] = nv12.planes[1] = buf.data();
  nv12.strides[0] = nv12.strides[1] = 64;
  EXPECT_NE(nv12.validate().message().find("even"), std::string::npos);
  nv12.width = 64;
  EXPECT_TRUE(nv12.validate().is_ok());
  nv12.planes[1] = nullptr;
  EXPECT_NE(nv12.validate().message().find("plane 1"), std::string::npos);
}

TEST(Tensor, ReshapeKeepsCapacityAndAlignment) {
  Tensor t;
  t.reshape(DataType::kFloat32, {1, 3, 8, 8});
  EXPECT_EQ(t.byte_size(), 3u * 8 * 8 * 4);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  void* first = t.data();
  t.reshape(DataType::kFloat32, {1, 3, 4, 4});  // smaller: no reallocation
  EXPECT_EQ(t.data(), first);
  EXPECT_EQ(shape_to_string({1, -1, 3}), "[1, ?, 3]");
  EXPECT_EQ(element_count({2, 3, 4}), 24);
}

}  // namespace
}  // namespace vas
