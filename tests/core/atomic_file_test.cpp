#include "simile/core.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/files.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;
using testing::throws_with;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_atomically(const std::string& path, const std::string& text) {
  AtomicFile f(path, "test_writer");
  f.write(text.data(), text.size());
  f.commit();
}

std::vector<std::string> names_in(const std::string& folder) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(folder)) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

/// The pid of a process that has exited and been reaped: no process runs under it (for a while).
long dead_pid() {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return static_cast<long>(child);
}

TEST(AtomicFile, CommitReplacesTheFileAndLeavesNoTemporary) {
  TempDir dir;
  const std::string p = dir.file("out.bin");
  write_atomically(p, "first");
  write_atomically(p, "second, longer");
  EXPECT_EQ(read_all(p), "second, longer");
  EXPECT_EQ(names_in(dir.file("")), (std::vector<std::string>{"out.bin"}));
}

TEST(AtomicFile, WithoutCommitThePreviousFileStaysAndTheTemporaryGoes) {
  TempDir dir;
  const std::string p = dir.file("out.bin");
  write_atomically(p, "previous");
  {
    AtomicFile f(p, "test_writer");
    f.write("half of a new", 13);
    EXPECT_TRUE(fs::exists(f.temporary_path()));
    EXPECT_EQ(read_all(p), "previous");
  }  // an exception on the way: destroyed without commit
  EXPECT_EQ(read_all(p), "previous");
  EXPECT_EQ(names_in(dir.file("")), (std::vector<std::string>{"out.bin"}));
}

TEST(AtomicFile, AFailedWriteThrowsNamingTheFileAndKeepsThePreviousOne) {
  TempDir dir;
  const std::string p = dir.file("out.bin");
  write_atomically(p, "previous");
  // A file-size limit stands in for a full disk: write(2) fails with EFBIG (SIGXFSZ ignored).
  rlimit old{};
  ::getrlimit(RLIMIT_FSIZE, &old);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 1000;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string big(5000, 'x');
  auto attempt = [&] { write_atomically(p, big); };
  bool threw = throws_with<IoError>(attempt, {"test_writer", "writing '" + p + "' failed", "left unchanged"});
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_TRUE(threw);
  EXPECT_EQ(read_all(p), "previous");
  EXPECT_EQ(names_in(dir.file("")), (std::vector<std::string>{"out.bin"}));
}

TEST(AtomicFile, TemporariesOfDeadProcessesAreRemovedOthersKept) {
  TempDir dir;
  const std::string p = dir.file("ckpt.st");
  const std::string dead = AtomicFile::temporary_name(p, dead_pid());
  const std::string alive = AtomicFile::temporary_name(p, static_cast<long>(::getppid()));  // our parent runs
  const std::string other = dir.file("other.st.tmp-1");
  for (const auto& f : {dead, alive, other}) std::ofstream(f) << "partial";
  write_atomically(p, "new");  // opening one cleans up after killed writers of the same file
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(alive));
  EXPECT_TRUE(fs::exists(other));
  EXPECT_EQ(AtomicFile::remove_stale_temporaries(p), 0);
}

TEST(AtomicFile, RefusesFoldersMissingFoldersAndNonRegularFiles) {
  TempDir dir;
  EXPECT_TRUE(
      throws_with<IoError>([&] { write_atomically(dir.file(""), "x"); }, {"test_writer", "not a regular file"}));
  EXPECT_TRUE(throws_with<IoError>([&] { write_atomically(dir.file("no/such/f"), "x"); },
                                   {"cannot write", "no/such/f", "No such file"}));
  fs::create_directory(dir.file("sub"));
  EXPECT_TRUE(throws_with<IoError>([&] { write_atomically(dir.file("sub"), "x"); }, {"sub", "not a regular file"}));
  EXPECT_TRUE(throws_with<IoError>([&] { write_atomically("", "x"); }, {"empty output path"}));
}

}  // namespace
}  // namespace simile
