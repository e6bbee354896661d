#pragma once
/// \file
/// Data layer: datasets, file readers (IDX, NPY, CIFAR, CSV, text, WordNet, PNG/JPEG image folders), the tokenizers (words, BPE, hashed n-grams), the loader and
/// the view-source interface.
#include "simile/data/bpe.hpp"
#include "simile/data/cifar.hpp"
#include "simile/data/csv.hpp"
#include "simile/data/dataset.hpp"
#include "simile/data/file.hpp"
#include "simile/data/hashed_ngrams.hpp"
#include "simile/data/idx.hpp"
#include "simile/data/image_file.hpp"
#include "simile/data/image_folder.hpp"
#include "simile/data/loader.hpp"
#include "simile/data/npy.hpp"
#include "simile/data/text.hpp"
#include "simile/data/tokenizer.hpp"
#include "simile/data/view_source.hpp"
#include "simile/data/wordnet.hpp"
