// Minimum-cost rectangular assignment (Hungarian method with row/column potentials, O(n^2 m)).
// Kept in associate/ so the analytics modules do not depend on csrc/track.
#pragma once

#include <vector>

namespace vas {

// cost is rows x cols, row-major. Returns, for each row, the column assigned to it or -1.
// Every row gets a column when rows <= cols, and every column a row otherwise; the sum of the
// chosen costs is minimal. Pairs whose cost is >= forbidden are left unassigned afterwards
// (pass a value above every allowed cost to mark pairs that must never match).
std::vector<int> solve_assignment(const std::vector<double>& cost, int rows, int cols,
                                  double forbidden = 1e18);

}  // namespace vas
