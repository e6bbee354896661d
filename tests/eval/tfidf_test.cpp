#include "simile/eval/tfidf.hpp"

#include <cmath>

#include "simile/eval.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::throws_with;

const std::vector<std::string> corpus = {"The cat sat.", "The cat sat on the mat!", "the DOG"};

TEST(TfIdf, ByHandAgainstTheSklearnFormula) {
  TfIdf t = TfIdf::fit(corpus);
  EXPECT_EQ(t.documents(), 3);
  EXPECT_EQ(t.features(), (std::vector<std::string>{"cat", "dog", "mat", "on", "sat", "the"}));
  // idf = ln((1 + 3) / (1 + df)) + 1 with df: cat 2, dog 1, mat 1, on 1, sat 2, the 3.
  const double i2 = std::log(4.0 / 3.0) + 1, i1 = std::log(2.0) + 1;
  ASSERT_EQ(t.idf().size(), 6u);
  EXPECT_DOUBLE_EQ(t.idf()[0], i2);
  EXPECT_DOUBLE_EQ(t.idf()[1], i1);
  EXPECT_DOUBLE_EQ(t.idf()[5], 1.0);
  Tensor<float> x = t.transform(corpus);
  ASSERT_EQ(x.shape(), (Shape{3, 6}));
  // Row 1: tf = cat 1, mat 1, on 1, sat 1, the 2; L2-normalized.
  const double n1 = std::sqrt(2 * i2 * i2 + 2 * i1 * i1 + 4);
  const std::vector<float> expected = {float(i2 / std::sqrt(2 * i2 * i2 + 1)),
                                       0,
                                       0,
                                       0,
                                       float(i2 / std::sqrt(2 * i2 * i2 + 1)),
                                       float(1 / std::sqrt(2 * i2 * i2 + 1)),  // "the cat sat"
                                       float(i2 / n1),
                                       0,
                                       float(i1 / n1),
                                       float(i1 / n1),
                                       float(i2 / n1),
                                       float(2 / n1),
                                       0,
                                       float(i1 / std::sqrt(i1 * i1 + 1)),
                                       0,
                                       0,
                                       0,
                                       float(1 / std::sqrt(i1 * i1 + 1))};  // "the dog"
  EXPECT_TRUE(testing::tensors_near(x, Tensor<float>::from(expected, {3, 6}), 1e-6, 1e-6));
  // The same numbers written out (the formula evaluated in Python, in double).
  EXPECT_NEAR(x.at(0, 0), 0.61980538, 1e-7);
  EXPECT_NEAR(x.at(1, 5), 0.55364194, 1e-7);
  EXPECT_NEAR(x.at(2, 1), 0.86103700, 1e-7);
  // Unknown words are ignored; a text without features is a zero row.
  Tensor<float> y = t.transform({"a bird sat", "nothing known here", ""});
  EXPECT_FLOAT_EQ(y.at(0, 4), 1.0f);
  for (Index j = 0; j < 6; ++j) EXPECT_EQ(y.at(1, j), 0.0f);
  EXPECT_EQ(t.transform({}).shape(), (Shape{0, 6}));
}

TEST(TfIdf, SklearnDocumentationExample) {
  // The corpus of scikit-learn's TfidfVectorizer documentation and its printed output.
  std::vector<std::string> docs = {"This is the first document.", "This document is the second document.",
                                   "And this is the third one.", "Is this the first document?"};
  TfIdf t = TfIdf::fit(docs);
  EXPECT_EQ(t.features(),
            (std::vector<std::string>{"and", "document", "first", "is", "one", "second", "the", "third", "this"}));
  Tensor<float> x = t.transform(docs);
  const std::vector<float> row0 = {0, 0.46979139f, 0.58028582f, 0.38408524f, 0, 0, 0.38408524f, 0, 0.38408524f};
  const std::vector<float> row1 = {0, 0.6876236f, 0, 0.28108867f, 0, 0.53864762f, 0.28108867f, 0, 0.28108867f};
  for (Index j = 0; j < 9; ++j) {
    EXPECT_NEAR(x.at(0, j), row0[std::size_t(j)], 1e-6) << j;
    EXPECT_NEAR(x.at(1, j), row1[std::size_t(j)], 1e-6) << j;
  }
}

TEST(TfIdf, FeatureSelection) {
  // Document frequencies: the 3, cat 2, sat 2, dog 1, mat 1, on 1.
  EXPECT_EQ(TfIdf::fit(corpus, 2).features(), (std::vector<std::string>{"cat", "the"}));  // cat wins the tie
  EXPECT_EQ(TfIdf::fit(corpus, 4).features(), (std::vector<std::string>{"cat", "dog", "sat", "the"}));
  EXPECT_EQ(TfIdf::fit(corpus, 100).num_features(), 6);
  EXPECT_EQ(TfIdf::fit(corpus, 0, 2).features(), (std::vector<std::string>{"cat", "sat", "the"}));
  EXPECT_EQ(TfIdf::fit(corpus, 1, 2).features(), (std::vector<std::string>{"the"}));
  // idf keeps n = all texts fitted, whatever was selected.
  TfIdf two = TfIdf::fit(corpus, 2);
  EXPECT_DOUBLE_EQ(two.idf()[0], std::log(4.0 / 3.0) + 1);
  Tensor<float> x = two.transform({"the cat", "cat cat"});
  const double i2 = std::log(4.0 / 3.0) + 1;
  EXPECT_NEAR(x.at(0, 0), i2 / std::sqrt(i2 * i2 + 1), 1e-6);
  EXPECT_NEAR(x.at(1, 0), 1.0, 1e-6);
  EXPECT_EQ(TfIdf::fit({}).num_features(), 0);
  EXPECT_TRUE(throws_with<ValueError>([] { TfIdf::fit(corpus, -1); }, {"TfIdf::fit", "max_features -1"}));
  EXPECT_TRUE(throws_with<ValueError>([] { TfIdf::fit(corpus, 0, 0); }, {"TfIdf::fit", "min_df 0"}));
}

TEST(TfIdf, ParallelTransformMatchesSerial) {
  std::vector<std::string> texts;
  Rng rng(9);
  for (int i = 0; i < 500; ++i) {
    std::string s;
    for (int w = 0; w < 12; ++w) s += "w" + std::to_string(rng.below(60)) + " ";
    texts.push_back(s);
  }
  TfIdf t = TfIdf::fit(texts, 40);
  Tensor<float> serial = t.transform(texts);
  ThreadScope threads(2);
  Tensor<float> parallel = t.transform(texts);
  EXPECT_TRUE(testing::tensors_near(serial, parallel, 0, 0));
  for (Index i = 0; i < serial.dim(0); ++i) {
    double n = serial.matrix().row(i).cast<double>().norm();
    EXPECT_TRUE(n == 0 || std::abs(n - 1) < 1e-6) << i;
  }
}

}  // namespace
}  // namespace simile
