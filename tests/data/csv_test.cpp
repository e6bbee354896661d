#include "simile/data/csv.hpp"

#include "data/files.hpp"
#include "simile/data.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::TempDir;
using testing::throws_with;

TEST(Csv, FeaturesLabelsHeaderAndCrlf) {
  TempDir dir;
  testing::write_text(dir.file("a.csv"), "x,y,label,z\r\n1.5, -2 ,0,3e2\r\n\r\n4,5,2,6\r\n");
  VectorDataset d = read_csv(dir.file("a.csv"), {.header = true, .label_column = 2});
  ASSERT_EQ(d.features().shape(), (Shape{2, 3}));
  EXPECT_TRUE(testing::tensors_near(d.features(), Tensor<float>::from({1.5f, -2, 300, 4, 5, 6}, {2, 3})));
  EXPECT_EQ(d.labels(), (std::vector<std::int64_t>{0, 2}));
  testing::write_text(dir.file("c.csv"), "1,2,7\n3,4,8\n");
  VectorDataset last = read_csv(dir.file("c.csv"), {.label_column = -1});
  EXPECT_EQ(last.labels(), (std::vector<std::int64_t>{7, 8}));
  EXPECT_TRUE(testing::tensors_near(last.features(), Tensor<float>::from({1, 2, 3, 4}, {2, 2})));
  testing::write_text(dir.file("b.tsv"), "1\t2\n3\t4");
  VectorDataset plain = read_csv(dir.file("b.tsv"), {.delimiter = '\t'});
  EXPECT_EQ(plain.size(), 2);
  EXPECT_FALSE(plain.has_labels());
  EXPECT_EQ(plain.get(1).features[1], 4.0f);
}

TEST(Csv, ErrorsNameLineAndColumn) {
  TempDir dir;
  testing::write_text(dir.file("word.csv"), "1,2,3\n4,five,6\n");
  EXPECT_TRUE(throws_with<IoError>([&] { read_csv(dir.file("word.csv")); },
                                   {"read_csv", dir.file("word.csv"), "line 2, column 2", "'five' is not a number"}));
  testing::write_text(dir.file("ragged.csv"), "1,2,3\n4,5\n");
  EXPECT_TRUE(throws_with<IoError>([&] { read_csv(dir.file("ragged.csv")); }, {"line 2 has 2 columns, expected 3"}));
  testing::write_text(dir.file("nan.csv"), "1,nan\n");
  EXPECT_TRUE(throws_with<IoError>([&] { read_csv(dir.file("nan.csv")); }, {"line 1, column 2", "finite"}));
  testing::write_text(dir.file("empty.csv"), "1,,3\n");
  EXPECT_TRUE(throws_with<IoError>([&] { read_csv(dir.file("empty.csv")); }, {"column 2", "'' is not a number"}));
  testing::write_text(dir.file("label.csv"), "1,0.5\n");
  EXPECT_TRUE(throws_with<IoError>([&] { read_csv(dir.file("label.csv"), {.label_column = 1}); },
                                   {"line 1, column 2", "label '0.5'"}));
  EXPECT_TRUE(throws_with<IoError>([&] { read_csv(dir.file("label.csv"), {.label_column = 5}); }, {"label column 5"}));
  testing::write_text(dir.file("none.csv"), "a,b\n\n");
  EXPECT_TRUE(throws_with<IoError>([&] { read_csv(dir.file("none.csv"), {.header = true}); }, {"no data rows"}));
}

}  // namespace
}  // namespace simile
