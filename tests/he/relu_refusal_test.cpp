// A model with a relu layer (medcnn --activation relu, the plaintext accuracy reference) is not
// a polynomial network: the compiler refuses it in every packing, naming the layer.
#include <gtest/gtest.h>

#include "hemi/he/compiler.h"
#include "hemi/nn/architectures.h"

namespace hemi::he {
namespace {

nn::Model medcnn(nn::Activation act) {
  nn::ArchitectureOptions o;
  o.input = nn::default_input("medcnn");
  o.input.height = o.input.width = 16;  // small: the refusal must come before any work
  o.class_names = {"a", "b", "c", "d"};
  o.activation = act;
  return nn::build_architecture("medcnn", o).value();
}

TEST(ReluRefusal, CompilerRefusesReluInEveryPacking) {
  const nn::Model relu = medcnn(nn::Activation::kRelu);
  for (std::optional<Packing> p : {std::optional<Packing>{}, std::optional<Packing>{Packing::kThroughput},
                                   std::optional<Packing>{Packing::kLatency}}) {
    CompileOptions o;
    o.packing = p;
    try {
      (void)compile(relu, o);
      ADD_FAILURE() << "a relu model was compiled";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("layer 2 (relu)"), std::string::npos) << m;
      EXPECT_NE(m.find("plaintext only"), std::string::npos) << m;
    }
  }
}

TEST(ReluRefusal, PolynomialMedcnnIsNotRefusedForItsActivation) {
  CompileOptions o;
  o.packing = Packing::kThroughput;
  try {
    (void)compile(medcnn(nn::Activation::kSquare), o);
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("plaintext only"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hemi::he
