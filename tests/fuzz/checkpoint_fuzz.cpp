// libFuzzer target: the checkpoint loader. A safetensors file is loaded, then restored into a small model
// (Linear + BatchNorm1d, PyTorch's names "0.weight", "1.running_var", ...) and into an Adam over it.
#include "fuzz_support.hpp"
#include "simile/io/safetensors.hpp"
#include "simile/nn/batch_norm.hpp"
#include "simile/nn/linear.hpp"
#include "simile/nn/sequential.hpp"
#include "simile/optim/adam.hpp"
#include "simile/train/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string path = simile::fuzz::write_input(data, size);
  return simile::fuzz::run([&] {
    simile::TensorDict dict = simile::load_safetensors(path);
    simile::Rng rng(1);
    simile::nn::Sequential<float> model{
        std::make_shared<simile::nn::Linear<float>>(simile::nn::LinearOptions{.in_features = 3, .out_features = 2},
                                                    rng),
        std::make_shared<simile::nn::BatchNorm1d<float>>(simile::nn::BatchNormOptions{.num_features = 2})};
    simile::optim::Adam<float> adam(model.parameters(), simile::optim::AdamOptions{});
    simile::load_module(dict, model);
    simile::load_optimizer(dict, adam);
  });
}
