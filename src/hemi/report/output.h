// Writers for a Report: the console table (laid out like the study's: one row per model,
// metrics then end-to-end times), results.json (docs/results-schema.md), results.csv (one row
// per run), report.md, and figures drawn with gnuplot (PNG and SVG).
// Pure formatting except write_outputs/write_figures, which write files and throw hemi::Error
// when a file cannot be written. A missing gnuplot is not an error: the figures are skipped
// with a warning.
#pragma once

#include <string>
#include <vector>

#include "hemi/report/results.h"

namespace hemi::report {

inline constexpr int kResultsSchemaVersion = 1;

std::string console_table(const Report& report);
std::string to_json(const Report& report);  // pretty-printed, 2-space indent
std::string to_csv(const Report& report);   // header + one row per run
std::string csv_header();
std::string to_markdown(const Report& report, const std::vector<std::string>& figures = {});

struct FigureOutput {
  std::vector<std::string> files;  // written PNG and SVG paths
  std::string warning;             // why figures were skipped or failed (empty on success)
};
// The gnuplot program used: $HEMI_GNUPLOT if set ("none" disables figures), else `gnuplot` on
// PATH; empty when there is none.
std::string find_gnuplot();
// Writes figures.dat and figures.gp into out_dir and runs gnuplot on them.
FigureOutput write_figures(const Report& report, const std::string& out_dir);

struct Outputs {
  std::vector<std::string> files;
  std::vector<std::string> warnings;
};
// Creates out_dir and writes results.json, results.csv, the figures and report.md.
Outputs write_outputs(const Report& report, const std::string& out_dir);

}  // namespace hemi::report
