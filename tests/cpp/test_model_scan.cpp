// The ONNX scanner's quantization-target metadata and the int8 CPU-fit rule built on it.
#include <gtest/gtest.h>

#include <string>

#include "engine/model_scan.h"

namespace vas {
namespace {

// Protobuf wire format, just enough for ModelProto{graph{node{op_type}}, metadata_props}.
std::string varint(uint64_t v) {
  std::string out;
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    out.push_back(static_cast<char>(v ? b | 0x80 : b));
  } while (v);
  return out;
}

std::string field(int number, const std::string& payload) {
  return varint(static_cast<uint64_t>(number) << 3 | 2) + varint(payload.size()) + payload;
}

std::string model_bytes(const std::string& op, const std::string& key, const std::string& value) {
  const std::string node = field(4, op);                                  // NodeProto.op_type
  const std::string graph = field(1, node);                               // GraphProto.node
  std::string model = field(7, graph);                                    // ModelProto.graph
  if (!key.empty()) model += field(14, field(1, key) + field(2, value));  // metadata_props
  return model;
}

OnnxSummary scan(const std::string& bytes) { return scan_onnx(bytes.data(), bytes.size()); }

TEST(ModelScan, ReadsTheQuantizationTarget) {
  const OnnxSummary s = scan(model_bytes("QLinearConv", kQuantTargetKey, "vnni"));
  ASSERT_TRUE(s.parsed);
  EXPECT_TRUE(s.has_quant_ops);
  EXPECT_EQ(s.quant_target, "vnni");
  EXPECT_EQ(precision_of(s), "int8");
  EXPECT_EQ(scan(model_bytes("QLinearConv", "other.key", "vnni")).quant_target, "");
  EXPECT_EQ(scan(model_bytes("Conv", "", "")).quant_target, "");
}

TEST(ModelScan, FullEightBitTargetsAreARiskOnlyWithoutVnni) {
  for (const char* target : {"vnni", "arm64"}) {
    const OnnxSummary s = scan(model_bytes("QLinearConv", kQuantTargetKey, target));
    const std::string risk = int8_cpu_risk("m.onnx", s, /*cpu_has_vnni=*/false);
    EXPECT_NE(risk.find("m.onnx"), std::string::npos) << risk;
    EXPECT_NE(risk.find(target), std::string::npos) << risk;
    EXPECT_NE(risk.find("saturate"), std::string::npos) << risk;
    EXPECT_NE(risk.find("--target portable"), std::string::npos) << risk;
    EXPECT_EQ(int8_cpu_risk("m.onnx", s, /*cpu_has_vnni=*/true), "");
  }
  // Portable models, float models and files made elsewhere (no target recorded) never warn.
  EXPECT_EQ(
      int8_cpu_risk("m", scan(model_bytes("QLinearConv", kQuantTargetKey, "portable")), false), "");
  EXPECT_EQ(int8_cpu_risk("m", scan(model_bytes("Conv", kQuantTargetKey, "vnni")), false), "");
  EXPECT_EQ(int8_cpu_risk("m", scan(model_bytes("QLinearConv", "", "")), false), "");
}

}  // namespace
}  // namespace vas
