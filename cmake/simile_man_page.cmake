# Writes the man page simile(1) from the tool's own help, so that it lists every option as the tool has it
# (cmake -P script, run by the build after the tool is linked):
#
#   cmake -DSIMILE=<path of the simile tool> -DOUTPUT=<simile.1> -P simile_man_page.cmake
#
# The page: NAME, SYNOPSIS, DESCRIPTION, then one subsection per command (train, eval, embed, and plot and
# report in a build with cairo: those `simile --help` lists) with its options as `simile <command> --help` prints them (CLI11's layout: an option line "  --name TYPE=default"
# with its help at column 30 or on the next lines, deeper-indented lines as a list), then EXIT STATUS,
# ENVIRONMENT, FILES, EXAMPLES and SEE ALSO, written here.
cmake_minimum_required(VERSION 3.21)
foreach(var SIMILE OUTPUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "simile_man_page: -D${var}=... is required")
  endif()
endforeach()

function(help out)  # help(<var> [command]): the tool's --help text
  execute_process(COMMAND "${SIMILE}" ${ARGN} --help RESULT_VARIABLE rc OUTPUT_VARIABLE text ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "simile_man_page: '${SIMILE} ${ARGN} --help' failed (${rc}): ${err}")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

function(escape out text)  # troff: backslashes, and '.' or '\'' at the start of a line
  string(REPLACE "\\" "\\e" text "${text}")
  string(REGEX REPLACE "^([.'])" "\\\\&\\1" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# The options of one command as troff: .TP, the option in bold (its type and default in italics), its help.
function(options_of out command)
  help(text ${command})
  # One list element a line: the help's own ';', '[' and ']' (which CMake's lists treat specially) are
  # swapped for placeholders and restored line by line.
  string(REPLACE ";" "<semicolon>" text "${text}")
  string(REPLACE "[" "<open>" text "${text}")
  string(REPLACE "]" "<close>" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  set(page "")
  set(in_options OFF)
  foreach(line IN LISTS lines)
    string(REPLACE "<semicolon>" ";" line "${line}")
    string(REPLACE "<open>" "[" line "${line}")
    string(REPLACE "<close>" "]" line "${line}")
    if(line MATCHES "^Options:")
      set(in_options ON)
      continue()
    endif()
    if(NOT in_options OR line STREQUAL "")
      continue()
    endif()
    if(line MATCHES "^  (-[^ ]*)( [^ ]([^ ]| [^ ])*)?( +(.*))?$")
      # "  --name TYPE=default      help": the names (short and long, comma-separated), the value, the help.
      set(names "${CMAKE_MATCH_1}")
      string(STRIP "${CMAKE_MATCH_2}" value)
      set(rest "${CMAKE_MATCH_5}")
      string(REPLACE "-" "\\-" names "${names}")
      string(APPEND page ".TP\n\\fB${names}\\fR")
      if(NOT value STREQUAL "")
        escape(value "${value}")
        string(APPEND page " \\fI${value}\\fR")
      endif()
      string(APPEND page "\n")
      if(NOT rest STREQUAL "")
        escape(rest "${rest}")
        string(APPEND page "${rest}\n")
      endif()
    elseif(line MATCHES "^                               +(.*)$")  # deeper: one entry of a list
      escape(entry "${CMAKE_MATCH_1}")
      string(APPEND page ".br\n${entry}\n")
    elseif(line MATCHES "^                              (.*)$")  # the help of the option above
      escape(entry "${CMAKE_MATCH_1}")
      string(APPEND page "${entry}\n")
    else()
      message(FATAL_ERROR "simile_man_page: an unexpected line in 'simile ${command} --help': '${line}'")
    endif()
  endforeach()
  if(page STREQUAL "")
    message(FATAL_ERROR "simile_man_page: no options found in 'simile ${command} --help'")
  endif()
  set(${out} "${page}" PARENT_SCOPE)
endfunction()

execute_process(COMMAND "${SIMILE}" --version RESULT_VARIABLE rc OUTPUT_VARIABLE version OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0 OR NOT version MATCHES "^simile [0-9]")
  message(FATAL_ERROR "simile_man_page: '${SIMILE} --version' gave '${version}' (${rc})")
endif()
help(top)
string(REGEX MATCH "^[^\n]*" summary "${top}")
string(REGEX REPLACE "^simile: " "" summary "${summary}")
# The commands of this build: the lines "  name   description" after "Subcommands:".
string(REGEX REPLACE ".*\nSubcommands:\n" "" listed "${top}")
string(REGEX MATCHALL "(^|\n)  [a-z]+ " commands "${listed}")
list(TRANSFORM commands STRIP)
if(NOT commands MATCHES "train;eval;embed")
  message(FATAL_ERROR "simile_man_page: 'simile --help' lists the commands '${commands}'")
endif()
set(figures OFF)
if("report" IN_LIST commands)
  set(figures ON)
endif()

set(page [=[.\" simile(1), generated from the tool's --help by cmake/simile_man_page.cmake: edit those, not this.
.TH SIMILE 1 "" "@VERSION@" "User Commands"
.SH NAME
simile \- @SUMMARY@
.SH SYNOPSIS
.B simile train
[\fIOPTIONS\fR]
.br
.B simile eval
(\fB\-\-checkpoint\fR \fIPATH\fR | \fB\-\-baseline\fR \fIraw\fR|\fIuntrained\fR) [\fIOPTIONS\fR]
.br
.B simile embed
\fB\-\-checkpoint\fR \fIPATH\fR \fB\-\-out\fR \fIFILE.npy\fR [\fIOPTIONS\fR]
.br
@FIGURES_SYNOPSIS@.B simile
(\fB\-\-help\fR | \fB\-\-version\fR)
.SH DESCRIPTION
.B simile
trains self-supervised encoders by contrastive learning (SimCLR, MoCo, BYOL and their relatives on images;
SimCSE and dual encoders on text; SCARF on tables), evaluates them by a linear probe and kNN (text: the
lexicographer-file probe and retrieval), and writes their representations.
Each command prints its progress to standard error and one JSON line of results to standard output.
.PP
Images are Fashion-MNIST's IDX files (Debian's dataset-fashion-mnist), NPY or CIFAR binaries; text is a
UTF-8 file of one sentence a line, a file of tab-separated positive pairs, or WordNet's folder (Debian's
wordnet-base); tables are CSV files of numbers.
A checkpoint (safetensors) holds the weights, the optimizer and the random streams, and what the encoder
needs to be rebuilt (method, encoder, widths, tokenizer), so that eval, embed and \fB\-\-resume\fR take it
as it is.
Under an MPI launcher (\fBmpirun \-np\fR \fIN\fR \fBsimile train\fR ...) the N processes train one model,
data-parallel, with \fB\-\-batch\fR the global batch.
@FIGURES_DESCRIPTION@.SH COMMANDS
]=])
set(figures_synopsis "")
set(figures_description "")
set(figures_example "")
if(figures)
  set(figures_synopsis [=[.B simile plot
(\fB\-\-metrics\fR \fIRUN.jsonl\fR | \fB\-\-embeddings\fR \fIH.npy\fR | \fB\-\-checkpoint\fR \fIPATH\fR) \fB\-\-out\fR \fIDIR\fR [\fIOPTIONS\fR]
.br
.B simile report
\fB\-\-checkpoint\fR \fIPATH\fR \fB\-\-out\fR \fIRUN.html\fR [\fIOPTIONS\fR]
.br
]=])
  set(figures_description [=[.PP
\fBplot\fR draws a run's metrics (loss, learning rate, throughput, alignment and uniformity) and maps of
representations (PCA, and exact t\-SNE of a sample) coloured by class, as PNG or SVG; \fBreport\fR writes one
self-contained HTML page of a run: configuration, curves, embedding map, augmentation grid and evaluation.
]=])
  set(figures_example [=[.PP
The run's figures, and its report in one HTML file:
.PP
.nf
.RS
simile embed \-\-checkpoint run.st \-\-out h.npy \-\-labels\-out y.npy
simile plot \-\-metrics run.jsonl \-\-embeddings h.npy \-\-labels y.npy \-\-out figures \-\-format both
simile report \-\-checkpoint run.st \-\-metrics run.jsonl \-\-out run.html
.RE
.fi
]=])
endif()
string(REPLACE "@FIGURES_SYNOPSIS@" "${figures_synopsis}" page "${page}")
string(REPLACE "@FIGURES_DESCRIPTION@" "${figures_description}" page "${page}")
foreach(command ${commands})
  string(REGEX MATCH "\n  ${command} +([^\n]*)" line "${top}")
  escape(what "${CMAKE_MATCH_1}")
  options_of(options ${command})
  string(APPEND page ".SS \"simile ${command}\"\n${what}.\n${options}")
endforeach()
string(APPEND page [=[.SH EXIT STATUS
.TP
.B 0
success.
.TP
.B 1
a failure while running: a missing, truncated or corrupt data file or checkpoint, a file that cannot be
written (the previous one is kept), a diverging run; one line
\fBsimile\fR \fIcommand\fR\fB:\fR \fIwhat\fR on standard error, naming the file or the value.
.TP
.B 2
a bad command line: an unknown option, a value out of range, options that do not fit the data or the
checkpoint; one line on standard error naming the option.
.TP
.B 128 + \fIsignal\fR
\fBtrain\fR stopped by SIGINT or SIGTERM, after writing its checkpoint: run the same command with
\fB\-\-resume\fR to continue, bit for bit as the run would have gone on.
.SH ENVIRONMENT
.TP
.B OMP_WAIT_POLICY
\fBpassive\fR keeps idle threads from spinning; timing figures are measured with it.
.TP
.B OMP_NUM_THREADS
ignored for simile's own work: \fB\-\-threads\fR sets the threads (the same seed and thread count give
the same bits).
.SH FILES
.TP
.I /usr/share/datasets/fashion-mnist
Fashion-MNIST, the image default of \fB\-\-data\fR.
.TP
.I /usr/share/wordnet
WordNet 3.0, the text default of \fB\-\-data\fR.
.SH EXAMPLES
SimCLR on Fashion-MNIST for five minutes, with checkpoints and a metrics log; then the encoder's evaluation
and the test set's representations:
.PP
.nf
.RS
simile train \-\-method simclr \-\-budget\-seconds 300 \-\-checkpoint run.st \-\-metrics run.jsonl
simile eval \-\-checkpoint run.st
simile embed \-\-checkpoint run.st \-\-out h.npy
.RE
.fi
.PP
A dual encoder on WordNet's pairs, then SimCSE with token-level views on a file of sentences:
.PP
.nf
.RS
simile train \-\-modality text \-\-budget\-seconds 600 \-\-checkpoint text.st
simile train \-\-modality text \-\-data sentences.txt \-\-method simcse \-\-token\-drop 0.1
.RE
.fi
@FIGURES_EXAMPLE@.SH SEE ALSO
.BR mpirun (1);
the README of simile for the recipes, the measured results and the library behind the tool.
]=])
string(REPLACE "@FIGURES_EXAMPLE@" "${figures_example}" page "${page}")
string(REPLACE "@VERSION@" "${version}" page "${page}")
escape(summary "${summary}")
string(REPLACE "@SUMMARY@" "${summary}" page "${page}")
file(WRITE "${OUTPUT}.tmp" "${page}")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
