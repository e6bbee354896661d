// The registries (one table per kind of part: adding a method, an encoder or an optimizer is one line)
// and the construction of a training run from the tool's options, for images, text and tables.

#include "setup.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <functional>
#include <iostream>
#include <numeric>
#include <string_view>

#include "registry.hpp"

namespace simile::cli {
namespace {

using Encoder = std::shared_ptr<nn::Module<float>>;

/// What a method's factory gets: the encoder, the size of its output h, the options and the seeded Rng.
struct Parts {
  Encoder encoder;
  Index dim;
  const Options& o;
  Rng& rng;

  std::shared_ptr<heads::ProjectionHead<float>> projector() const {
    return std::make_shared<heads::ProjectionHead<float>>(
        heads::ProjectionHeadOptions{.in_features = dim, .hidden_features = o.proj_hidden, .out_features = o.proj_out},
        rng);
  }
  std::shared_ptr<heads::PredictionHead<float>> predictor() const {
    return std::make_shared<heads::PredictionHead<float>>(
        heads::PredictionHeadOptions{.in_features = o.proj_out, .hidden_features = o.proj_hidden, .out_features = o.proj_out},
        rng);
  }
  /// The dual encoder's recipes: text with no projector (the embedding is compared as it is), a table with
  /// an MLP projector (SCARF).
  std::unique_ptr<Recipe<float>> dual_encoder(const char* name, bool symmetric, Encoder projector) const {
    return std::make_unique<DualEncoder<float>>(name, encoder, std::move(projector),
                                               DualEncoderOptions{.temperature = o.temperature, .symmetric = symmetric});
  }
};

using MethodFactory = std::function<std::unique_ptr<Recipe<float>>(const Parts&)>;
// The encoder and the size of h; `vocab` is the text tokenizer's size (0 for the other modalities).
using EncoderFactory = std::function<std::pair<Encoder, Index>(const Options&, Index vocab, Rng&)>;
using OptimizerFactory = std::function<std::unique_ptr<optim::Optimizer<float>>(const Options&, nn::Module<float>&)>;

// Arguments of make_unique are evaluated in an unspecified order and the heads draw from one Rng: each
// head is made in its own statement so that a given seed gives the same weights with every compiler.
const Registry<MethodFactory>& methods() {
  static const Registry<MethodFactory> r("--method", {
      {"simclr", "image", "SimCLR, NT-Xent on two views (--temperature)",
       [](const Parts& p) { return std::make_unique<SimClr<float>>(p.encoder, p.projector(), SimClrOptions{.temperature = p.o.temperature}); }},
      {"moco", "image", "MoCo v2, InfoNCE against a queue of keys (--queue-size, --ema, --temperature)",
       [](const Parts& p) {
         return std::make_unique<Moco<float>>(p.encoder, p.projector(), p.o.proj_out,
                                              MocoOptions{.momentum = p.o.ema, .queue_size = p.o.queue_size,
                                                          .temperature = p.o.temperature, .seed = p.o.seed});
       }},
      {"byol", "image", "BYOL, predictor against a momentum target (--ema: base momentum)",
       [](const Parts& p) { auto proj = p.projector(); return std::make_unique<Byol<float>>(p.encoder, proj, p.predictor(), ByolOptions{.tau_base = p.o.ema}); }},
      {"simsiam", "image", "SimSiam, predictor with a stop-gradient",
       [](const Parts& p) { auto proj = p.projector(); return std::make_unique<SimSiam<float>>(p.encoder, proj, p.predictor()); }},
      {"barlow", "image", "Barlow Twins, cross-correlation towards the identity",
       [](const Parts& p) { return std::make_unique<BarlowTwins<float>>(p.encoder, p.projector()); }},
      {"vicreg", "image", "VICReg, variance-invariance-covariance",
       [](const Parts& p) { return std::make_unique<VicRegRecipe<float>>(p.encoder, p.projector()); }},
      {"supcon", "image", "supervised contrastive, uses the labels (--temperature)",
       [](const Parts& p) { return std::make_unique<SupConRecipe<float>>(p.encoder, p.projector(), SupConRecipeOptions{.temperature = p.o.temperature}); }},
      {"simcse", "text", "SimCSE, each sentence twice with dropout as the noise, in-batch negatives (--dropout, --temperature)",
       [](const Parts& p) { return p.dual_encoder("simcse", false, std::make_shared<nn::Identity<float>>()); }},
      {"pairs", "text", "dual encoder on positive pairs (a pairs file; WordNet: example, lemmas and hypernym pairs), in-batch negatives",
       [](const Parts& p) { return p.dual_encoder("pairs", true, std::make_shared<nn::Identity<float>>()); }},
      {"scarf", "table", "SCARF, a row against the row with --corruption of its features redrawn, MLP projector",
       [](const Parts& p) {
         return p.dual_encoder("scarf", false, std::make_shared<encoders::Mlp<float>>(
                                                   encoders::MlpOptions{.sizes = {p.dim, p.o.proj_hidden, p.o.proj_out}}, p.rng));
       }},
  });
  return r;
}

std::pair<Encoder, Index> text_encoder(encoders::TextArchitecture a, const Options& o, Index vocab, Rng& rng) {
  encoders::TextEncoderOptions t{.architecture = a, .vocab_size = vocab, .width = o.width, .layers = o.layers,
                                 .heads = o.heads, .max_length = o.max_length, .dropout = o.dropout};
  return {std::make_shared<encoders::TextEncoder<float>>(t, rng), o.width};
}

const Registry<EncoderFactory>& encoders() {
  static const Registry<EncoderFactory> r(
      "--encoder",
      {
          {"smallconv", "image", "SmallConvNet, h of 128 (--readout-grid G: 128 G^2)",
           [](const Options& o, Index, Rng& rng) {
             auto e = std::make_shared<encoders::SmallConvNet<float>>(
                 encoders::SmallConvNetOptions{.in_channels = 1, .readout_grid = o.readout_grid}, rng);
             return std::pair<Encoder, Index>(e, e->output_dim());
           }},
          {"resnet18", "image", "ResNet-18, h of 512",
           [](const Options&, Index, Rng& rng) {
             return std::pair<Encoder, Index>(
                 std::make_shared<encoders::ResNet18<float>>(encoders::ResNet18Options{.in_channels = 1}, rng), 512);
           }},
          {"mlp", "image", "784-512-256 MLP with batch norm, h of 256",
           [](const Options&, Index, Rng& rng) {
             auto seq = std::make_shared<nn::Sequential<float>>();
             seq->push_back(std::make_shared<nn::Flatten<float>>());
             seq->push_back(std::make_shared<encoders::Mlp<float>>(
                 encoders::MlpOptions{.sizes = {784, 512, 256}, .batch_norm = true, .activate_last = true}, rng));
             return std::pair<Encoder, Index>(seq, 256);
           }},
          {"transformer", "text",
           "pre-norm transformer over BPE tokens, mean-pooled (--width, --layers, --heads, --max-length)",
           [](const Options& o, Index vocab, Rng& rng) {
             return text_encoder(encoders::TextArchitecture::transformer, o, vocab, rng);
           }},
          {"bag", "text", "bag of BPE token embeddings and an MLP (--width)",
           [](const Options& o, Index vocab, Rng& rng) {
             return text_encoder(encoders::TextArchitecture::bag, o, vocab, rng);
           }},
          {"tabular", "table", "MLP on standardized features, --layers hidden layers of --width with batch norm",
           [](const Options& o, Index, Rng& rng) {
             return std::pair<Encoder, Index>(
                 std::make_shared<encoders::TabularEncoder<float>>(
                     encoders::TabularEncoderOptions{.numeric = o.features,
                                                     .hidden = std::vector<Index>(std::size_t(o.layers), o.width),
                                                     .output_dim = o.width},
                     rng),
                 o.width);
           }},
      });
  return r;
}

std::unique_ptr<optim::Optimizer<float>> make_lars(const Options& o, nn::Module<float>& model) {
  // Biases and batch-norm parameters (1-D) get neither weight decay nor the trust ratio (SimCLR, BYOL).
  std::vector<Var<float>> adapt, exclude;
  for (auto& [name, p] : model.named_parameters()) (p.shape().rank() > 1 ? adapt : exclude).push_back(p);
  optim::LarsOptions a{.lr = o.lr, .weight_decay = o.weight_decay}, e = a;
  e.weight_decay = 0, e.adaptation = false;
  return std::make_unique<optim::LARS<float>>(std::vector<optim::ParamGroup<float, optim::LarsOptions>>{{adapt, a}, {exclude, e}});
}

const Registry<OptimizerFactory>& optimizers() {
  static const Registry<OptimizerFactory> r("--optimizer", {
      {"adam", "", "Adam (--lr, --weight-decay as L2)",
       [](const Options& o, nn::Module<float>& m) {
         return std::make_unique<optim::Adam<float>>(m.parameters(), optim::AdamOptions{.lr = o.lr, .weight_decay = o.weight_decay});
       }},
      {"adamw", "", "AdamW (decoupled --weight-decay)",
       [](const Options& o, nn::Module<float>& m) {
         return std::make_unique<optim::AdamW<float>>(std::vector<optim::ParamGroup<float, optim::AdamWOptions>>{
             {m.parameters(), optim::AdamWOptions{.lr = o.lr, .weight_decay = o.weight_decay}}});
       }},
      {"sgd", "", "SGD with momentum 0.9",
       [](const Options& o, nn::Module<float>& m) {
         return std::make_unique<optim::SGD<float>>(m.parameters(), optim::SGDOptions{.lr = o.lr, .momentum = 0.9, .weight_decay = o.weight_decay});
       }},
      {"lars", "", "LARS; biases and batch norm without decay or trust ratio", make_lars},
  });
  return r;
}

TrainerOptions trainer_options(const Options& o) {
  TrainerOptions t;
  t.epochs = o.epochs;
  t.max_steps = o.max_steps;
  t.budget_seconds = o.budget;
  t.threads = o.threads;
  t.precision = o.precision == "bf16" ? Precision::bf16 : Precision::f32;
  for (ConvAlgorithm a : {ConvAlgorithm::automatic, ConvAlgorithm::direct, ConvAlgorithm::winograd})
    if (o.conv_algorithm == to_string(a)) t.conv_algorithm = a;  // the flag's values are these names
  t.checkpoint_path = o.checkpoint;
  t.checkpoint_every = o.checkpoint_every;
  t.checkpoint_each_epoch = o.checkpoint_each_epoch;
  t.metadata = checkpoint_metadata(o);
  t.profile = o.profile;
  t.cosine_lr = o.schedule == "cosine";
  t.warmup_epochs = o.warmup_epochs;
  t.stop_requested = o.stop_requested;
  t.comm = o.comm;
  return t;
}

// ---- Text ----------------------------------------------------------------------------------------------

/// The first byte of `s` that does not belong to valid UTF-8 (overlong forms, surrogates and code points
/// beyond U+10FFFF included), or npos. Text goes into checkpoints' JSON metadata, which must be UTF-8.
std::size_t invalid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return i;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    // The second byte's range excludes overlong forms (E0, F0), surrogates (ED) and > U+10FFFF (F4).
    const unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80, hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    if (c1 < lo || c1 > hi) return i;
    for (std::size_t k = 2; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
    i += n;
  }
  return std::string_view::npos;
}

bool blank(std::string_view s) { return detail::trim(s).empty(); }

/// The lines of a UTF-8 text file, blank ones kept (line i + 1 is element i), a leading byte-order mark
/// dropped. Invalid UTF-8 is an IoError naming the file, the line and the byte.
std::vector<std::string> read_utf8_lines(const std::string& path) {
  std::vector<std::string> lines = read_text_lines(path, {.skip_empty = false}).lines;
  if (!lines.empty() && lines[0].starts_with("\xEF\xBB\xBF")) lines[0].erase(0, 3);
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (std::size_t at = invalid_utf8(lines[i]); at != std::string_view::npos)
      throw IoError(detail::str("'", path, "' line ", i + 1, ": not UTF-8 (byte ", at + 1, " of the line)"));
  return lines;
}

/// --limit: the first `o.limit` of `n` training samples (`what` names them), all when 0.
std::size_t limited(const Options& o, std::size_t n, const char* what) {
  if (o.limit == 0) return n;
  if (std::size_t(o.limit) > n)
    throw BadArgument(detail::str("--limit: ", o.limit, " is more than the ", n, " ", what, " in '", o.data_dir, "'"));
  return std::size_t(o.limit);
}

/// True when `dir` holds any of Fashion-MNIST's IDX names (even as a broken link or a folder, so that the
/// IDX reader reports what is wrong with it): the folder is read as IDX files, else as an image folder.
bool has_idx_files(const std::string& dir) {
  namespace fs = std::filesystem;
  for (const char* base : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                           "t10k-labels-idx1-ubyte"})
    for (const char* suffix : {"", ".gz"}) {
      std::error_code ec;
      if (fs::symlink_status(fs::path(dir) / (std::string(base) + suffix), ec).type() != fs::file_type::not_found)
        return true;
    }
  return false;
}

/// One image folder, as the image encoders read it: 28x28 gray. Skipped images and a cache that could not
/// be written are reported on stderr.
ImageFolder load_folder(const Options& o, const std::string& dir) {
  ThreadScope threads(o.threads);
  ImageFolder f = load_image_folder(
      dir, {.channels = 1, .height = 28, .width = 28, .fit = o.image_fit == "crop" ? ImageFit::crop : ImageFit::resize,
            .bad_images = o.bad_images == "skip" ? BadImages::skip : BadImages::fail,
            .cache = o.image_cache != "none", .cache_dir = o.image_cache == "none" ? std::string() : o.image_cache});
  if (!f.skipped.empty())
    std::cerr << "simile: skipped " << f.skipped.size() << " of " << f.skipped.size() + f.files.size()
              << " images in '" << dir << "' that cannot be decoded (--bad-images skip), the first: '"
              << f.skipped[0] << "'\n";
  if (!f.cache_problem.empty()) std::cerr << "simile: the decoded images are not cached: " << f.cache_problem << "\n";
  return f;
}

/// A folder of PNG and JPEG images (see --data): train/ and test/ subfolders, else --test-fraction of each
/// class held out (seeded), else (unlabeled) every image to train on. --limit draws its images at random
/// (seeded): the folder's order is class by class.
Data load_image_folders(const Options& o) {
  namespace fs = std::filesystem;
  const fs::path root(o.data_dir);
  std::error_code ec;
  Data d;
  if (fs::is_directory(root / "train", ec) && fs::is_directory(root / "test", ec)) {
    ImageFolder train = load_folder(o, (root / "train").string()), test = load_folder(o, (root / "test").string());
    check<IoError>(train.classes == test.classes, "'", o.data_dir, "': train/ has ", train.classes.size(),
                   " class folders and test/ ", test.classes.size(), ", not the same names");
    d.train = std::move(train.data), d.test = std::move(test.data);
    d.classes = std::move(train.classes);
  } else {
    ImageFolder all = load_folder(o, o.data_dir);
    d.classes = all.classes;
    if (all.data.has_labels()) {
      Split s = stratified_split(all.data.labels(), o.test_fraction, o.seed);  // kept: the held-out images
      check<IoError>(!s.rest.empty(), "'", o.data_dir, "': --test-fraction ", o.test_fraction,
                     " leaves no training image");
      d.train = subset(all.data, s.rest), d.test = subset(all.data, s.kept);
    } else {
      d.train = std::move(all.data);
    }
  }
  if (o.limit > 0) {
    std::vector<Index> pick(std::size_t(d.train.size()));
    std::iota(pick.begin(), pick.end(), Index(0));
    Rng rng = Rng::stream(o.seed, 0x11A6E5);
    shuffle(pick, rng);
    pick.resize(limited(o, pick.size(), "training images"));
    std::sort(pick.begin(), pick.end());
    d.train = subset(d.train, pick);
  }
  return d;
}

/// WordNet's synsets split by synset; the training synsets give the sentences (glosses and examples) and
/// the pairs (`wordnet_text`: example -> gloss, lemmas -> gloss, gloss -> hypernym's gloss). --limit keeps the first training synsets and a quarter as
/// many test synsets (at least 8: `first_synsets`).
TextData load_wordnet(const Options& o) {
  TextData t;
  t.kind = "wordnet";
  t.synsets = read_wordnet(o.data_dir);
  t.split = split_synsets(static_cast<Index>(t.synsets.size()), o.test_fraction, o.seed);
  if (o.limit > 0) t.split = first_synsets(t.split, Index(limited(o, t.split.train.size(), "training synsets")));
  for (const Synset& s : t.synsets) {
    std::vector<const std::string*> texts{&s.gloss};
    for (const auto* list : {&s.examples, &s.lemmas})
      for (const std::string& x : *list) texts.push_back(&x);
    for (const std::string* x : texts)
      if (std::size_t at = invalid_utf8(*x); at != std::string_view::npos)
        throw IoError(detail::str("'", o.data_dir, "': synset ", s.id, " is not UTF-8 (byte ", at + 1, " of '", *x, "')"));
  }
  WordnetText w = wordnet_text(t.synsets, t.split.train);
  t.sentences = std::move(w.sentences), t.anchors = std::move(w.anchors), t.positives = std::move(w.positives);
  return t;
}

/// A file of sentences, or of pairs when its first non-blank line has a tab: then every non-blank line must
/// hold two non-blank tab-separated columns. Blank lines are skipped.
TextData load_text_file(const Options& o) {
  const std::string& path = o.data_dir;
  std::vector<std::string> lines = read_utf8_lines(path);
  auto first = std::find_if(lines.begin(), lines.end(), [](const std::string& l) { return !blank(l); });
  if (first == lines.end())
    throw IoError(detail::str("'", path, "' holds no text (expected one sentence a line, or two tab-separated ",
                              "columns a line)"));
  TextData t;
  t.kind = first->find('\t') != std::string::npos ? "pairs" : "sentences";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (blank(line)) continue;
    if (t.kind == "sentences") {
      t.sentences.push_back(line);
      continue;
    }
    const std::size_t tab = line.find('\t');
    const auto columns = 1 + std::count(line.begin(), line.end(), '\t');
    if (columns != 2 || blank(std::string_view(line).substr(0, tab)) || blank(std::string_view(line).substr(tab + 1)))
      throw IoError(detail::str("'", path, "' line ", i + 1, ": ",
                                columns == 1   ? std::string("one column")
                                : columns != 2 ? detail::str(columns, " tab-separated columns")
                                               : std::string("an empty column"),
                                ", expected two non-empty ones (a file of pairs, as its first line has a tab)"));
    t.anchors.push_back(line.substr(0, tab));
    t.positives.push_back(line.substr(tab + 1));
  }
  if (t.kind == "pairs") {
    const std::size_t n = limited(o, t.anchors.size(), "pairs");
    t.anchors.resize(n), t.positives.resize(n);
    t.sentences = t.anchors;
    t.sentences.insert(t.sentences.end(), t.positives.begin(), t.positives.end());
  } else {
    t.sentences.resize(limited(o, t.sentences.size(), "sentences"));
  }
  return t;
}

/// Texts as token ids, cut to --max-length tokens; a text without words reads as <unk>, as `embed` does,
/// so that no training view is empty.
TextDataset encode_texts(const std::vector<std::string>& texts, const BpeTokenizer& bpe, Index max_length) {
  TextDataset d = make_text_dataset(texts, bpe, {}, max_length);
  const auto& seqs = d.sequences();
  if (std::none_of(seqs.begin(), seqs.end(), [](const auto& s) { return s.empty(); })) return d;
  std::vector<std::vector<Token>> filled = seqs;
  for (auto& s : filled)
    if (s.empty()) s.push_back(BpeTokenizer::unknown);
  return TextDataset(std::move(filled));
}

Tensor<float> embed_texts(const Options& o, Model& m, const std::vector<std::string>& texts) {
  return simile::embed(m.recipe->encoder(), encode_texts(texts, *m.tokenizer, o.max_length));
}

// ---- Tables --------------------------------------------------------------------------------------------

/// What the CSV's first non-blank line says: whether it is a header (one of its fields is not a number),
/// and the number of columns.
struct CsvLayout {
  bool header = false;
  Index columns = 0;
};
CsvLayout csv_layout(const std::string& path) {
  FileReader in(path, "read_csv");
  std::string text(std::size_t(1) << 20, '\0');
  text.resize(in.read_some(text.data(), text.size()));
  std::string_view line;
  detail::for_each_line(text, [&](Index, std::string_view l) {
    if (line.empty() && !blank(l)) line = l;
  });
  std::vector<std::string_view> fields;
  detail::split_fields(line, ',', fields);
  return {std::any_of(fields.begin(), fields.end(),
                      [](std::string_view f) {
                        f = detail::trim(f);
                        double v = 0;
                        auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
                        return f.empty() || ec != std::errc() || end != f.data() + f.size();
                      }),
          static_cast<Index>(fields.size())};
}

/// The CSV of --data, its label column from --label-column (N, last or none).
VectorDataset read_table(const Options& o) {
  const CsvLayout layout = csv_layout(o.data_dir);
  CsvOptions c{.header = layout.header};
  if (o.label_column == "last") c.label_column = -1;
  else if (o.label_column != "none") c.label_column = std::stoll(o.label_column);
  if (c.label_column && *c.label_column >= layout.columns && layout.columns > 0)
    throw BadArgument(detail::str("--label-column: ", *c.label_column, " is beyond the ", layout.columns,
                                  " columns of '", o.data_dir, "' (columns count from 0)"));
  VectorDataset d = read_csv(o.data_dir, c);
  if (o.features > 0 && d.dim() != o.features)
    throw BadArgument(detail::str("--data: '", o.data_dir, "' has ", d.dim(), " feature columns (--label-column ",
                                  o.label_column, "), the encoder of '", o.resume.empty() ? o.checkpoint : o.resume,
                                  "' reads ", o.features));
  return d;
}

/// Text: the method --method names, else pairs for WordNet and a pairs file and simcse for sentences;
/// pairs needs pairs (a BadArgument naming --method otherwise).
void settle_text_method(Options& o, const Data& d) {
  if (o.modality != "text") return;
  if (o.method.empty()) o.method = d.text.kind == "sentences" ? "simcse" : "pairs";
  if (o.method == "pairs" && d.text.kind == "sentences")
    throw BadArgument(detail::str("--method: pairs trains on positive pairs, but '", o.data_dir,
                                  "' holds single sentences (give a file of two tab-separated columns a line, ",
                                  "WordNet's folder, or --method simcse)"));
}

/// Training samples a batch is drawn from, and what they are called in messages.
std::pair<Index, const char*> training_samples(const Options& o, const Data& d) {
  if (o.modality == "text")
    return o.method == "pairs" ? std::pair<Index, const char*>{Index(d.text.anchors.size()), "pairs"}
                               : std::pair<Index, const char*>{Index(d.text.sentences.size()), "sentences"};
  if (o.modality == "table") return {d.table_train.size(), "rows"};
  return {d.train.size(), "images"};
}

LoaderOptions loader_options(const Options& o) {
  return {.batch_size = o.batch, .shuffle = true, .drop_last = true, .seed = o.seed};
}

/// The trainer's views: augmented images, a sentence twice (dropout makes the two views differ, with the
/// token-level views of --token-drop, --token-crop, --token-swaps if any), the two sides of a pair (the same
/// token-level views on each), or a table row and its SCARF corruption.
std::unique_ptr<ViewSource> view_source(const Options& o, const Data& d, const Model& m) {
  if (o.modality == "text") {
    const TextMultiView views = TextMultiView::same(token_views(o.token_views), 2);
    if (o.method == "pairs")
      return std::make_unique<TextPairViewSource>(
          Loader<TextDataset>(encode_texts(d.text.anchors, *m.tokenizer, o.max_length), loader_options(o)),
          encode_texts(d.text.positives, *m.tokenizer, o.max_length), views);
    return std::make_unique<TextViewSource>(
        Loader<TextDataset>(encode_texts(d.text.sentences, *m.tokenizer, o.max_length), loader_options(o)), views);
  }
  if (o.modality == "table") {
    VectorPipeline corrupt;
    corrupt.add(ScarfCorruption(d.table_train.features(), o.corruption));
    return std::make_unique<VectorViewSource>(Loader<VectorDataset>(d.table_train, loader_options(o)),
                                              VectorMultiView({VectorPipeline{}, corrupt}));
  }
  return std::make_unique<ImageViewSource>(Loader<ImageDataset>(d.train, loader_options(o)), views_for(o));
}

EvaluationReport evaluate_table(const Options& o, const Tensor<float>& train, const Tensor<float>& test, const Data& d) {
  return evaluate_features(train, d.table_train.labels(), test, d.table_test.labels(), evaluation_options(o));
}

Evaluation from_report(const EvaluationReport& e) {
  Evaluation r{.dim = e.dim};
  add_report(r.fields, e);
  return r;
}

Evaluation from_sentences(const SentenceReport& s) {
  Evaluation r{.dim = s.dim};
  r.fields["probe_accuracy"] = number(s.probe_accuracy);
  r.fields["probe_train"] = s.probe_train;
  r.fields["queries"] = s.retrieval.queries;
  r.fields["recall_at_1"] = number(s.retrieval.recall_at_1);
  r.fields["recall_at_10"] = number(s.retrieval.recall_at_10);
  r.fields["mrr"] = number(s.retrieval.mrr);
  return r;
}

SentenceEvaluationOptions sentence_options(const Options& o) {
  SentenceEvaluationOptions s;
  s.seed = o.seed;
  return s;
}

}  // namespace

Choices method_choices() { return methods().choices(); }
Choices encoder_choices() { return encoders().choices(); }
Choices optimizer_choices() { return optimizers().choices(); }

std::string tokenizer_problem(const std::string& text) {
  try {
    (void)BpeTokenizer::deserialize(text);
    return {};
  } catch (const Error& e) {
    return e.what();
  }
}

Data load_data(const Options& o) {
  if (o.modality == "text") {
    Data d;
    d.text = std::filesystem::is_directory(o.data_dir) ? load_wordnet(o) : load_text_file(o);
    return d;
  }
  if (o.modality == "table") {
    Data d;
    VectorDataset all = read_table(o);
    if (all.has_labels()) {
      Split s = stratified_split(all.labels(), o.test_fraction, o.seed);  // kept: the held-out rows
      check<IoError>(!s.rest.empty(), "'", o.data_dir, "': --test-fraction ", o.test_fraction,
                     " leaves no training row");
      d.table_train = subset(all, s.rest), d.table_test = subset(all, s.kept);
    } else {
      d.table_train = all;
    }
    if (o.limit > 0)
      d.table_train = first_samples(d.table_train, Index(limited(o, std::size_t(d.table_train.size()), "training rows")));
    return d;
  }
  if (o.data_given && !has_idx_files(o.data_dir)) return load_image_folders(o);
  Data d{load_fashion_mnist(o.data_dir, "train"), load_fashion_mnist(o.data_dir, "test")};
  const Shape train = d.train.images().shape(), test = d.test.images().shape();
  check<IoError>(train.rank() == test.rank() && std::equal(train.begin() + 1, train.end(), test.begin() + 1),
                 "'", o.data_dir, "': the images of train-images-idx3-ubyte are ", train,
                 ", those of t10k-images-idx3-ubyte ", test, ": their sizes differ");
  if (o.limit > 0) d.train = first_samples(d.train, Index(limited(o, std::size_t(d.train.size()), "training images")));
  // Fashion-MNIST's classes, when the folder is known to hold it (other IDX files, MNIST's say, hold others).
  std::string folder = o.data_dir;
  std::transform(folder.begin(), folder.end(), folder.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!o.data_given || folder.find("fashion") != std::string::npos)
    d.classes = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  return d;
}

bool can_evaluate(const Options& o, const Data& d, std::string* why) {
  std::string no;
  if (o.modality == "text" && d.text.kind != "wordnet")
    no = detail::str("'", o.data_dir, "' holds ", d.text.kind, " without labels: only WordNet's folder is evaluated");
  else if (o.modality == "table" && !d.table_train.has_labels())
    no = detail::str("'", o.data_dir, "' is read without labels (--label-column none)");
  else if (o.modality == "image" && (!d.train.has_labels() || !d.test.has_labels() || d.test.size() == 0))
    no = detail::str("'", o.data_dir, "' is an image folder without labels (no class subfolders)");
  if (why) *why = no;
  return no.empty();
}

void check_evaluation_options(const Options& o, const Data& d) {
  if (o.modality == "text") return;  // WordNet's evaluation has no kNN
  const bool table = o.modality == "table";
  if (table && !d.table_train.has_labels()) return;
  const Index n = table ? d.table_train.size() : d.train.size();
  if (o.knn_k > n)
    throw BadArgument(detail::str("--knn-k: ", o.knn_k, " neighbours, but the training set has ", n,
                                  table ? " rows" : " images"));
}

Model load_checkpoint_model(Options& o, const std::string& path) {
  TensorDict d = load_safetensors(path);
  o = checkpoint_options(o, path, d.metadata);
  Model m = build_model(o);
  try {
    auto recipe = d.metadata.find("recipe");
    check<IoError>(recipe != d.metadata.end() && recipe->second == m.recipe->name(), "metadata 'method' is '",
                   o.method, "' but 'recipe' is '", recipe == d.metadata.end() ? std::string("?") : recipe->second,
                   "'");
    load_module(d, m.recipe->model());
  } catch (const Error&) {
    detail::rethrow_with_context("'" + path + "': ");
  }
  return m;
}

MultiView views_for(const Options& o) { return MultiView::same(image_pipeline(o.augment, 28, 28), 2); }

Model build_model(const Options& o) {
  Rng rng(o.seed);
  Model m;
  if (o.modality == "text") m.tokenizer = std::make_shared<const BpeTokenizer>(BpeTokenizer::deserialize(o.tokenizer));
  auto [encoder, dim] = encoders().at(o.encoder)(o, m.tokenizer ? m.tokenizer->size() : 0, rng);
  m.recipe = methods().at(o.method)(Parts{encoder, dim, o, rng});
  m.dim = dim;
  return m;
}

Model model_for(Options& o, const Data& d) {
  settle_text_method(o, d);
  if (o.modality == "text" && o.tokenizer.empty()) {  // a checkpoint's tokenizer is kept
    ThreadScope threads(o.threads);
    BpeTokenizer bpe = BpeTokenizer::train(d.text.sentences, o.vocab);
    check<IoError>(bpe.size() > BpeTokenizer::reserved, "'", o.data_dir,
                   "': the training text has no word (letters or digits) to learn a vocabulary from");
    o.tokenizer = bpe.serialize();
  }
  if (o.modality == "table" && o.features == 0) o.features = d.table_train.dim();
  Model m = build_model(o);
  if (auto* t = dynamic_cast<encoders::TabularEncoder<float>*>(&m.recipe->encoder()))
    t->fit_standardization(d.table_train.features());
  return m;
}

std::unique_ptr<Run> make_run(Options& o) {
  auto run = std::make_unique<Run>();
  run->data = load_data(o);
  settle_text_method(o, run->data);
  if (auto [n, what] = training_samples(o, run->data); o.batch > n)
    throw BadArgument(detail::str("--batch: ", o.batch, " ", what, " a batch, but the training set has ", n));
  run->model = model_for(o, run->data);
  run->optimizer = optimizers().at(o.optimizer)(o, run->model.recipe->model());
  run->source = view_source(o, run->data, run->model);
  run->trainer = std::make_unique<Trainer<float>>(*run->model.recipe, *run->source, *run->optimizer, trainer_options(o));
  return run;
}

EvaluationOptions evaluation_options(const Options& o) {
  EvaluationOptions e;
  e.knn.k = static_cast<int>(o.knn_k);
  e.knn.temperature = o.knn_t;
  e.seed = o.seed;
  return e;
}

Evaluation evaluate(const Options& o, Model& m, const Data& d) {
  nn::Module<float>& encoder = m.recipe->encoder();
  if (o.modality == "text") {
    return from_sentences(evaluate_sentences(
        wordnet_benchmark(d.text.synsets, d.text.split),
        [&](const std::vector<std::string>& texts) { return embed_texts(o, m, texts); }, sentence_options(o)));
  }
  if (o.modality == "table")
    return from_report(evaluate_table(o, simile::embed(encoder, d.table_train), simile::embed(encoder, d.table_test), d));
  MultiView v = views_for(o);
  return from_report(evaluate_encoder(encoder, d.train, d.test, evaluation_options(o), &v));
}

Evaluation evaluate_raw(const Options& o, const Data& d, std::string& what) {
  if (o.modality == "text") {
    what = "TF-IDF";
    SentenceBenchmark bench = wordnet_benchmark(d.text.synsets, d.text.split);
    TfIdf tfidf = TfIdf::fit(bench.train_texts, 8192);
    return from_sentences(evaluate_sentences(
        bench, [&](const std::vector<std::string>& texts) { return tfidf.transform(texts); }, sentence_options(o)));
  }
  if (o.modality == "table") {
    what = "raw features";
    return from_report(evaluate_table(o, d.table_train.features(), d.table_test.features(), d));
  }
  what = "raw pixels";
  auto pixels = [](const ImageDataset& data) {
    Loader<ImageDataset> l(data, {.batch_size = data.size(), .shuffle = false});
    Tensor<float> x = l.batch(0).data;
    return x.reshape({x.dim(0), x.numel() / x.dim(0)});
  };
  return from_report(evaluate_features(pixels(d.train), d.train.labels(), pixels(d.test), d.test.labels(),
                                       evaluation_options(o)));
}

Evaluation evaluate_feature_files(const Options& o, const Data& d) {
  if (o.modality == "text")
    throw BadArgument("--features: text is evaluated through its encoder (retrieval over WordNet's glosses), not "
                      "from stored representations");
  const bool table = o.modality == "table";
  auto read = [&](const std::string& path, Index rows, const char* which) {
    Tensor<float> x = read_npy_header(path).descr == "<f8" ? read_npy<double>(path).to<float>() : read_npy<float>(path);
    if (x.rank() != 2 || x.dim(0) != rows || x.dim(1) < 1)
      throw BadArgument(detail::str("--features: '", path, "' holds an array of shape ", x.shape(), "; the ", which,
                                    " set of '", o.data_dir, "' has ", rows, " samples (one row each, [N, D])"));
    if (!x.array().isFinite().all())
      throw BadArgument(detail::str("--features: '", path, "' holds a NaN or infinity"));
    return x;
  };
  const Index n_train = table ? d.table_train.size() : d.train.size(), n_test = table ? d.table_test.size() : d.test.size();
  Tensor<float> train = read(o.feature_files[0], n_train, "training"), test = read(o.feature_files[1], n_test, "test");
  if (train.dim(1) != test.dim(1))
    throw BadArgument(detail::str("--features: the training representations have ", train.dim(1),
                                  " dimensions, the test ones ", test.dim(1)));
  if (table) return from_report(evaluate_table(o, train, test, d));
  return from_report(evaluate_features(train, d.train.labels(), test, d.test.labels(), evaluation_options(o)));
}

void describe_data(const Options& o, const Run& run, Json& j) {
  if (o.modality == "image") return;  // the images' line stays as it was
  j["modality"] = o.modality;
  j["data"] = o.modality == "text" ? run.data.text.kind : std::string("csv");
  j["train_samples"] = training_samples(o, run.data).first;
  if (o.modality == "text") {
    j["vocab"] = run.model.tokenizer->size();
    if (run.data.text.kind == "wordnet") {
      j["train_synsets"] = run.data.text.split.train.size();
      j["test_synsets"] = run.data.text.split.test.size();
    }
  } else {
    j["features"] = o.features;
    j["test_samples"] = run.data.table_test.size();
  }
}

Tensor<float> embed_data(const Options& o, Model& m, std::vector<std::int64_t>* labels,
                         std::vector<std::string>* classes) {
  if (labels) labels->clear();
  if (o.modality == "text") {
    if (std::filesystem::is_directory(o.data_dir))
      throw BadArgument(detail::str("--data: '", o.data_dir, "' is a folder; embed reads a file of lines"));
    std::vector<std::string> lines = read_utf8_lines(o.data_dir);
    check<IoError>(!lines.empty(), "'", o.data_dir, "' holds no line to embed");
    return embed_texts(o, m, lines);
  }
  if (o.modality == "table") {
    VectorDataset table = read_table(o);
    if (labels) *labels = table.labels();
    return simile::embed(m.recipe->encoder(), table);
  }
  Data data = load_data(o);
  if (o.split == "test" && data.test.size() == 0)
    throw BadArgument(detail::str("--split: '", o.data_dir, "' is an image folder without labels, so without a test "
                                  "split: embed it with --split train"));
  const ImageDataset& images = o.split == "test" ? data.test : data.train;
  if (labels) *labels = images.labels();
  if (classes) *classes = data.classes;
  return simile::embed(m.recipe->encoder(), images);
}

std::function<Json()> health_probe(const Options& o, Run& run) {
  if (o.modality != "image" || o.health_every <= 0) return {};
  const ImageDataset& all = run.data.test.size() > 0 ? run.data.test : run.data.train;
  const Index n = std::min<Index>(all.size(), 512);
  if (n < 2) return {};
  std::vector<Index> first(static_cast<std::size_t>(n));
  std::iota(first.begin(), first.end(), Index(0));
  auto images = std::make_shared<const ImageDataset>(subset(all, first));
  auto views = std::make_shared<const MultiView>(views_for(o));
  nn::Module<float>* encoder = &run.model.recipe->encoder();
  const std::uint64_t seed = o.seed;
  return [images, views, encoder, seed, n] {
    return Json{{"alignment", number(view_alignment(*encoder, *images, *views, n, seed))},
                {"uniformity", number(uniformity(simile::embed(*encoder, *images)))}};
  };
}

Tensor<float> export_embeddings(const Options& o, Model& m, const Data& d) {
  if (o.modality == "image") return simile::embed(m.recipe->encoder(), d.test.size() > 0 ? d.test : d.train);
  if (o.modality == "text" && d.text.kind == "wordnet")
    return embed_texts(o, m, wordnet_benchmark(d.text.synsets, d.text.split).test_texts);
  return embed_data(o, m);
}

}  // namespace simile::cli
