#pragma once
/// \file
/// Reverse-mode automatic differentiation. A `Var<T>` is a handle on a graph node holding a value
/// tensor, an optional gradient, and, for a node made by an op while gradients are recorded, the
/// inputs and a backward function. Ops record the graph as they run (define-by-run, as PyTorch);
/// `backward()` visits the nodes in reverse creation order, which is a topological order because a
/// node is always created after its inputs, then frees the graph.
///
/// Contract of a backward function: it reads `self.grad` (dL/d output, same shape as the value) and
/// accumulates (`+=`) into `grad_for(i)` of each input i that requires a gradient. A backward that
/// writes every element of an input's gradient may ask for `grad_target(i)` instead: when no other op
/// has written that gradient yet it gets an uninitialized buffer to assign (`=`), which saves zero-filling
/// it and reading the zeros back (`write_grad` does either).

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/autograd/profiler.hpp"
#include "simile/core/error.hpp"
#include "simile/core/tensor.hpp"

namespace simile {

namespace detail {
inline bool& grad_mode() {
  thread_local bool enabled = true;
  return enabled;
}
inline std::uint64_t next_node_id() {
  static std::atomic<std::uint64_t> id{0};
  return id.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace detail

/// True while ops record graphs on this thread (see `NoGradGuard`).
inline bool grad_enabled() { return detail::grad_mode(); }

/// Disables graph recording on this thread for its lifetime (evaluation, EMA updates, optimizer
/// steps): ops then return plain values with no history.
class NoGradGuard {
 public:
  NoGradGuard() : previous_(detail::grad_mode()) { detail::grad_mode() = false; }
  ~NoGradGuard() { detail::grad_mode() = previous_; }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

template <Real T>
class Var;

/// A node of the graph. Users hold `Var`s; ops and optimizers touch nodes.
template <Real T>
struct Node {
  Tensor<T> value;  ///< the forward result (a leaf: the parameter or data itself)
  Tensor<T> grad;  ///< dL/d value; undefined until a backward pass reaches this node
  bool requires_grad = false;  ///< whether backward computes dL/d value here (some input or the leaf is trainable)
  const char* op = "leaf";  ///< the op that made this node, for error messages
  std::uint64_t id = detail::next_node_id();  ///< creation order, unique in the process (a topological order)
  std::vector<std::shared_ptr<Node>> inputs;  ///< the op's inputs, empty for a leaf or when nothing was recorded
  std::function<void(Node&)> backward_fn;     ///< the op's backward, empty for a leaf (see the file comment)

  /// A leaf holding `v`; trainable when `rg`.
  explicit Node(Tensor<T> v, bool rg = false) : value(std::move(v)), requires_grad(rg) {}
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  /// Unlinks the history iteratively: dropping a graph of any depth never recurses.
  ~Node() {
    std::vector<std::shared_ptr<Node>> stack = std::move(inputs);
    while (!stack.empty()) {
      std::shared_ptr<Node> n = std::move(stack.back());
      stack.pop_back();
      if (n && n.use_count() == 1) {
        for (auto& in : n->inputs) stack.push_back(std::move(in));
        n->inputs.clear();
      }
    }
  }

  /// True when the node has no backward function: a parameter, data, or an op's result made without
  /// recording (no input required a gradient, or under `NoGradGuard`).
  bool is_leaf() const { return !backward_fn; }
  /// The gradient buffer of input `i` to accumulate into, zero-filled on first use, or nullptr when
  /// that input needs no gradient (frozen parameters and data cost nothing).
  Tensor<T>* grad_for(std::size_t i) const {
    Node& in = *inputs[i];
    if (!in.requires_grad) return nullptr;
    return &in.ensure_grad();
  }
  /// This node's gradient, created zero-filled with the value's shape when undefined.
  Tensor<T>& ensure_grad() {
    if (!grad.defined()) grad = Tensor<T>::zeros(value.shape());
    return grad;
  }

  /// Where a backward writes input i's gradient when it writes all of it: `data` is null when the input
  /// needs no gradient; `assign` is true when nothing has been written there yet (the buffer is
  /// uninitialized, so every element must be assigned), false when it holds a sum to add to.
  struct GradTarget {
    T* data = nullptr;    ///< the input's gradient buffer (numel of its value), null when it needs none
    bool assign = false;  ///< true: uninitialized, assign every element; false: add to it
    /// True when there is a gradient to write (`data` is not null).
    explicit operator bool() const { return data != nullptr; }
  };
  /// The gradient of input `i` for a backward that writes every element of it (see GradTarget). An input
  /// that appears twice among this op's inputs is zero-filled as by `grad_for`, since the op's other
  /// writes to it may come first.
  GradTarget grad_target(std::size_t i) const {
    Node& in = *inputs[i];
    if (!in.requires_grad) return {};
    if (in.grad.defined()) return {in.grad.data(), false};
    for (std::size_t j = 0; j < inputs.size(); ++j)
      if (j != i && inputs[j].get() == &in) return {in.ensure_grad().data(), false};
    in.grad = Tensor<T>::empty(in.value.shape());
    return {in.grad.data(), true};
  }
};

/// d[k] = f(k) when `assign`, else d[k] += f(k), for k in [0, n): the inner loop of a backward that
/// writes a whole gradient through `Node::grad_target`, with the branch outside the loop.
template <Real T, class F>
inline void write_grad(T* d, Index n, bool assign, F&& f) {
  if (assign)
    for (Index k = 0; k < n; ++k) d[k] = f(k);
  else
    for (Index k = 0; k < n; ++k) d[k] += f(k);
}

/// Handle on a graph node. Copying a Var copies the handle.
template <Real T>
class Var {
 public:
  using Scalar = T;  ///< the element type (float or double)

  Var() = default;
  /// A leaf holding `value`; a trainable parameter when `requires_grad`.
  explicit Var(Tensor<T> value, bool requires_grad = false)
      : node_(std::make_shared<Node<T>>(std::move(value), requires_grad)) {}
  /// A handle on an existing node (what `make_op` returns).
  explicit Var(std::shared_ptr<Node<T>> node) : node_(std::move(node)) {}

  /// False for a default-constructed Var; every other member requires a defined one.
  bool defined() const { return node_ != nullptr; }
  /// The value (shared: writing to it changes the node's value).
  const Tensor<T>& value() const { return node_->value; }
  /// dL/d value after `backward()`; undefined when no gradient reached this leaf.
  const Tensor<T>& grad() const { return node_->grad; }
  /// True when a gradient is there: a backward reached this node since the last `zero_grad()`.
  bool has_grad() const { return node_->grad.defined(); }
  /// True for a trainable leaf, or an op's result that depends on one (while gradients were recorded).
  bool requires_grad() const { return node_->requires_grad; }
  /// Marks a leaf as trainable or frozen. Only leaves may change.
  void set_requires_grad(bool on) const {
    check(node_->is_leaf(), "Var::set_requires_grad: only leaves may change, this Var was made by ",
          node_->op);
    node_->requires_grad = on;
  }
  /// The value's shape.
  const Shape& shape() const { return node_->value.shape(); }
  /// The value's dimension `i` (negative counts from the end); throws ShapeError when out of range.
  Index dim(int i) const { return node_->value.dim(i); }
  /// The value's element count.
  Index numel() const { return node_->value.numel(); }
  /// The value's single element; throws ShapeError unless it has exactly one.
  T item() const { return node_->value.item(); }
  /// The name of the op that made this node ("matmul"), or "leaf".
  const char* op() const { return node_->op; }
  /// The node (for ops, optimizers and identity checks); owned by the handles.
  Node<T>* node() const { return node_.get(); }
  /// The owning pointer to the node (what an op stores among its output's inputs).
  const std::shared_ptr<Node<T>>& node_ptr() const { return node_; }

  /// A leaf sharing this value, cut from the graph (no gradient flows through it).
  Var detach() const { return Var(node_->value, false); }
  /// Drops the gradient (the next backward starts from zero).
  void zero_grad() const { node_->grad = Tensor<T>(); }

  /// Backpropagates from this scalar (dL/dL = 1).
  void backward() const {
    check<ShapeError>(numel() == 1, "Var::backward: output of ", node_->op, " has shape ", shape(),
                      "; pass a seed gradient for a non-scalar output");
    backward(Tensor<T>::ones(shape()));
  }
  /// Backpropagates `seed` = dL/d(this value). Accumulates into the leaves' gradients, then frees the
  /// graph below this node (its intermediate values and backward functions).
  void backward(const Tensor<T>& seed) const;

 private:
  std::shared_ptr<Node<T>> node_;
};

/// Records an op: returns a Var holding `value` whose node links `inputs` and `backward` when gradients
/// are enabled and some input requires one; otherwise a plain leaf (nothing is kept alive).
/// `inputs` may be a braced list (`{x, w}`) or a vector (ops with a run-time number of inputs: concat).
template <Real T, class Backward>
Var<T> make_op(const char* name, Tensor<T> value, std::span<const Var<T>> inputs, Backward&& backward) {
  bool need = grad_enabled() &&
              std::any_of(inputs.begin(), inputs.end(), [](const Var<T>& v) { return v.requires_grad(); });
  detail::profile_forward(name);
  auto node = std::make_shared<Node<T>>(std::move(value), need);
  node->op = name;
  if (need) {
    node->inputs.reserve(inputs.size());
    for (const Var<T>& v : inputs) node->inputs.push_back(v.node_ptr());
    node->backward_fn = std::forward<Backward>(backward);
  }
  return Var<T>(std::move(node));
}

/// `make_op` with the inputs as a braced list: `make_op<T>("mul", out, {x, y}, backward)`.
template <Real T, class Backward>
Var<T> make_op(const char* name, Tensor<T> value, std::initializer_list<Var<T>> inputs, Backward&& backward) {
  return make_op<T>(name, std::move(value), std::span<const Var<T>>(inputs.begin(), inputs.size()),
                    std::forward<Backward>(backward));
}

template <Real T>
void Var<T>::backward(const Tensor<T>& seed) const {
  check<ShapeError>(seed.shape() == shape(), "Var::backward: seed of shape ", seed.shape(), " for output of ",
                    node_->op, " with shape ", shape());
  if (!node_->requires_grad) return;  // nothing upstream is trainable

  // Collect every node that needs a gradient, then run them newest first. The list holds owning
  // handles: freeing a node's inputs below must not destroy a node still waiting in the list.
  std::vector<std::shared_ptr<Node<T>>> order;
  std::vector<Node<T>*> stack{node_.get()};
  std::unordered_set<Node<T>*> seen{node_.get()};
  order.push_back(node_);
  while (!stack.empty()) {
    Node<T>* n = stack.back();
    stack.pop_back();
    for (auto& in : n->inputs)
      if (in->requires_grad && seen.insert(in.get()).second) {
        order.push_back(in);
        stack.push_back(in.get());
      }
  }
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a->id > b->id; });

  Tensor<T>& g = node_->ensure_grad();
  g.array() += seed.array();
  for (const auto& n : order) {
    if (n->is_leaf()) continue;
    if (n->grad.defined()) {
      auto& prof = detail::profiler_state();
      if (prof.table) [[unlikely]] {
        auto t0 = std::chrono::steady_clock::now();
        n->backward_fn(*n);
        auto& e = prof.table->backward[n->op];
        e.seconds += detail::seconds_since(t0);
        ++e.calls;
      } else {
        n->backward_fn(*n);
      }
    }
    // Free the graph as we go: the node's history and its gradient are not needed any more.
    n->backward_fn = nullptr;
    n->inputs.clear();
    n->grad = Tensor<T>();
    n->requires_grad = false;
  }
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_AUTOGRAD_VAR(P, T) \
  P template class Var<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_AUTOGRAD_VAR)

}  // namespace simile
